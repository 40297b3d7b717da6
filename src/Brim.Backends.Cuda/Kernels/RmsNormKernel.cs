using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launcher for rmsnorm.cu.</summary>
internal sealed class RmsNormKernel : IDisposable
{
    private readonly CudaModule _module;
    private readonly KernelFunction _addRmsNorm;

    public RmsNormKernel(CudaDevice device, KernelCompiler compiler)
    {
        _module = new CudaModule(device, compiler.Compile("rmsnorm.cu"), "rmsnorm.cu");
        _addRmsNorm = _module.GetFunction("add_rmsnorm").WithProgrammaticLaunch();
    }

    /// <summary>
    /// For each output row r (source row s = rowMap[r], or r when rowMap is 0): x[s] += delta[s] (skipped when delta
    /// is 0), then output[r] = bf16(x[s] / rms(x[s]) * weight).
    /// </summary>
    public void AddRmsNorm(CudaStream stream, ulong x, ulong delta, ulong weight, ulong output, ulong rowMap, int rows, int hidden, float eps)
    {
        Launch.Positive(rows, nameof(rows));
        Launch.Positive(hidden, nameof(hidden));
        var a = default(KernelArguments);
        a.Add(x);
        a.Add(delta);
        a.Add(weight);
        a.Add(output);
        a.Add(rowMap);
        a.Add(hidden);
        a.Add(eps);
        _addRmsNorm.Launch(stream, rows, Launch.RowThreads(hidden / 4, 1024), ref a);
    }

    public void Dispose() => _module.Dispose();
}
