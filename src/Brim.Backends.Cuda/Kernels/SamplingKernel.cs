using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launcher for sampling.cu.</summary>
internal sealed class SamplingKernel : IDisposable
{
    /// <summary>Floats per row of the parameter array: temperature, top_k, top_p, min_p, uniform.</summary>
    public const int ParamsPerRow = 5;

    private readonly CudaModule _module;
    private readonly KernelFunction _sample;

    public SamplingKernel(CudaDevice device, KernelCompiler compiler)
    {
        _module = new CudaModule(device, compiler.Compile("sampling.cu"), "sampling.cu");
        _sample = _module.GetFunction("sample_rows");
    }

    /// <summary>tokens[r] = the token sampled from logits row r (fp32, vocab wide) with parameters params[r * 5 ..].</summary>
    public void Sample(CudaStream stream, ulong logits, int vocab, ulong parameters, ulong tokens, int rows)
    {
        Launch.Positive(rows, nameof(rows));
        Launch.Positive(vocab, nameof(vocab));
        var a = default(KernelArguments);
        a.Add(logits);
        a.Add(vocab);
        a.Add(parameters);
        a.Add(tokens);
        _sample.Launch(stream, rows, 1024, ref a);
    }

    public void Dispose() => _module.Dispose();
}
