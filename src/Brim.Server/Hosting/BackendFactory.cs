using Brim.Backends.Cpu;
using Brim.Backends.Cpu.Parallel;
using Brim.Backends.Cuda;
using Brim.Backends.Cuda.TensorParallel;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Server.Hosting;

/// <summary>Chooses and creates the backend for <see cref="DeviceKind"/>: auto takes the GPU when it is usable and says why not otherwise.</summary>
internal static class BackendFactory
{
    public static (IModelBackend Backend, string Note) Create(LoadedModel model, ModelHostOptions options)
    {
        var ranks = options.TensorParallelSize;
        if (ranks > 1 && options.Device != DeviceKind.Cpu)
        {
            return TensorParallelOnGpus(model, options, ranks);
        }

        if (options.Device == DeviceKind.Cuda)
        {
            if (!CudaBackend.IsAvailable(out var reason))
            {
                throw new InvalidOperationException($"--device cuda: {reason}");
            }

            var gpu = new CudaBackend(model, CudaOptions(options));
            return (gpu, $"{gpu.DeviceName} (cuda, requested{PriorityNote(options)})");
        }

        string why;
        if (options.Device == DeviceKind.Auto)
        {
            if (CudaBackend.IsAvailable(out var reason))
            {
                var gpu = new CudaBackend(model, CudaOptions(options));
                return (gpu, $"{gpu.DeviceName} (cuda, auto{PriorityNote(options)})");
            }
            else
            {
                why = $"auto: {reason}";
            }
        }
        else
        {
            why = "requested";
        }

        if (options.KvCacheDType == KvCacheDType.Fp8)
        {
            throw new NotSupportedException($"--kv-cache-dtype fp8 needs the CUDA backend ({why}); the CPU backend supports auto and int8");
        }

        if (options.GpuPriority == GpuPriority.High)
        {
            throw new NotSupportedException($"--model-gpu-priority high orders work on a shared GPU; this model runs on the CPU ({why})");
        }

        // The CPU backend keeps float32 weights: refuse up front rather than be killed by the OOM killer mid-load.
        var weightBytes = model.Config.ParameterCount * sizeof(float);
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (weightBytes > memory * 0.9)
        {
            throw new InvalidOperationException(
                $"the CPU backend keeps weights as float32: {model.Config.ParameterCount / 1e9:F2} B parameters need {weightBytes / 1e9:F1} GB, "
                + $"this machine has {memory / 1e9:F1} GB ({why}); run it with --device cuda");
        }

        var cpuOptions = new CpuBackendOptions { ThreadCount = options.CpuThreads ?? Environment.ProcessorCount, KvCacheDType = options.KvCacheDType };
        IModelBackend cpu = ranks > 1 ? TensorParallelCpuBackend.Create(model, ranks, cpuOptions) : CpuBackend.Create(model, cpuOptions);
        return (cpu, $"{cpu.DeviceName} ({why})");
    }

    /// <summary>
    /// N ranks, a GPU each, through NCCL (<see cref="TensorParallelCudaBackend"/>), or refused naming what is missing: a
    /// usable CUDA device, N of them, NCCL. The CPU's simulated ranks are only taken when asked for (--device cpu).
    /// </summary>
    private static (IModelBackend Backend, string Note) TensorParallelOnGpus(LoadedModel model, ModelHostOptions options, int ranks)
    {
        if (!TensorParallelCudaBackend.IsAvailable(ranks, out var reason))
        {
            throw new NotSupportedException(
                $"--tensor-parallel-size {ranks}: tensor parallelism on GPUs cannot run here: {reason}; "
                + $"--device cpu runs the sharding as {ranks} simulated ranks in one process (to check it, no faster than one)");
        }

        var backend = TensorParallelCudaBackend.Create(model, ranks, CudaOptions(options));
        return (backend, $"{backend.DeviceName} ({(options.Device == DeviceKind.Cuda ? "requested" : "auto")}{PriorityNote(options)})");
    }

    /// <summary>Whether the backend runs on the CPU (one rank or simulated ranks): host memory, float32 KV, its own cache sizing.</summary>
    public static bool IsCpu(IModelBackend backend) => backend is CpuBackend or TensorParallelCpuBackend;

    private static CudaBackendOptions CudaOptions(ModelHostOptions options)
    {
        if (options.KvCacheDType == KvCacheDType.Int8)
        {
            throw new NotSupportedException("--kv-cache-dtype int8 is the CPU backend's format; on CUDA use fp8 (or --device cpu)");
        }

        return new CudaBackendOptions
        {
            KvCacheDType = options.KvCacheDType, Progress = options.Progress, HighStreamPriority = options.GpuPriority == GpuPriority.High,
        };
    }

    private static string PriorityNote(ModelHostOptions options) => options.GpuPriority == GpuPriority.High ? ", high stream priority" : string.Empty;
}
