using Brim.Backends.Cuda.Interop;
using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launcher for sampling.cu.</summary>
internal sealed class SamplingKernel : IDisposable
{
    /// <summary>Floats per row of the parameter array: temperature, top_k, top_p, min_p, uniform, top_logprobs (-1: none).</summary>
    public const int ParamsPerRow = 6;

    /// <summary>Floats per row of the logprob output: the chosen token's, then the best <see cref="ForwardOutput.MaxTopLogprobs"/>.</summary>
    public const int LogprobsPerRow = 1 + ForwardOutput.MaxTopLogprobs;

    private readonly CudaModule _module;
    private readonly KernelFunction _sample;

    public SamplingKernel(CudaDevice device, KernelCompiler compiler)
    {
        _module = new CudaModule(device, compiler.Compile("sampling.cu"), "sampling.cu");
        _sample = _module.GetFunction("sample_rows").WithProgrammaticLaunch();
    }

    /// <summary>
    /// tokens[r] = the token sampled from logits row r (fp32, vocab wide) with parameters params[r * 6 ..]; for rows
    /// asking for logprobs, logprobs[r * 21 ..] = the chosen token's and the best tokens' (ids in logprobIds[r * 20 ..]).
    /// </summary>
    public void Sample(CudaStream stream, ulong logits, int vocab, ulong parameters, ulong tokens, ulong logprobs, ulong logprobIds, int rows)
    {
        Launch.Positive(rows, nameof(rows));
        Launch.Positive(vocab, nameof(vocab));
        var a = default(KernelArguments);
        a.Add(logits);
        a.Add(vocab);
        a.Add(parameters);
        a.Add(tokens);
        a.Add(logprobs);
        a.Add(logprobIds);
        _sample.Launch(stream, rows, 1024, ref a);
    }

    public void Dispose() => _module.Dispose();
}
