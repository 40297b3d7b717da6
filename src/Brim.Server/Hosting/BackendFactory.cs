using Brim.Backends.Cpu;
using Brim.Backends.Cuda;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Server.Hosting;

/// <summary>Chooses and creates the backend for <see cref="DeviceKind"/>: auto takes the GPU when it is usable and says why not otherwise.</summary>
internal static class BackendFactory
{
    public static (IModelBackend Backend, string Note) Create(LoadedModel model, ModelHostOptions options)
    {
        if (options.Device == DeviceKind.Cuda)
        {
            if (!CudaBackend.IsAvailable(out var reason))
            {
                throw new InvalidOperationException($"--device cuda: {reason}");
            }

            var gpu = new CudaBackend(model, CudaOptions(options));
            return (gpu, $"{gpu.DeviceName} (cuda, requested)");
        }

        string why;
        if (options.Device == DeviceKind.Auto)
        {
            if (CudaBackend.IsAvailable(out var reason))
            {
                var gpu = new CudaBackend(model, CudaOptions(options));
                return (gpu, $"{gpu.DeviceName} (cuda, auto)");
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

        // The CPU backend keeps float32 weights: refuse up front rather than be killed by the OOM killer mid-load.
        var weightBytes = model.Config.ParameterCount * sizeof(float);
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (weightBytes > memory * 0.9)
        {
            throw new InvalidOperationException(
                $"the CPU backend keeps weights as float32: {model.Config.ParameterCount / 1e9:F2} B parameters need {weightBytes / 1e9:F1} GB, "
                + $"this machine has {memory / 1e9:F1} GB ({why}); run it with --device cuda");
        }

        var cpu = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = options.CpuThreads ?? Environment.ProcessorCount, KvCacheDType = options.KvCacheDType });
        return (cpu, $"{cpu.DeviceName} ({why})");
    }

    private static CudaBackendOptions CudaOptions(ModelHostOptions options)
    {
        if (options.KvCacheDType == KvCacheDType.Int8)
        {
            throw new NotSupportedException("--kv-cache-dtype int8 is the CPU backend's format; on CUDA use fp8 (or --device cpu)");
        }

        return new CudaBackendOptions { KvCacheDType = options.KvCacheDType, Progress = options.Progress };
    }
}
