using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launcher for swiglu.cu.</summary>
internal sealed class SwiGluKernel : IDisposable
{
    private readonly CudaModule _module;
    private readonly KernelFunction _siluMul;

    public SwiGluKernel(CudaDevice device, KernelCompiler compiler)
    {
        _module = new CudaModule(device, compiler.Compile("swiglu.cu"), "swiglu.cu");
        _siluMul = _module.GetFunction("silu_mul");
    }

    /// <summary>output[t, i] = silu(gateUp[t, i]) * gateUp[t, ff + i].</summary>
    public void Apply(CudaStream stream, ulong gateUp, ulong output, int tokens, int ff)
    {
        Launch.Positive(tokens, nameof(tokens));
        Launch.Positive(ff, nameof(ff));
        var a = default(KernelArguments);
        a.Add(gateUp);
        a.Add(output);
        a.Add(tokens);
        a.Add(ff);
        _siluMul.Launch(stream, Launch.GridStrideBlocks((long)tokens * ff), 256, ref a);
    }

    public void Dispose() => _module.Dispose();
}
