using Brim.Backends.Cuda.Interop;
using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launcher for sampling.cu. The top-k and top-p thresholds come from radix selection (<c>sample_rows_radix</c>: about
/// nine reads of the row and at most three of its exps) or, with <see cref="Radix"/> off, from the bisection kernel it
/// replaced (<c>sample_rows</c>: 30 passes over the row per filter, an exp per entry each; on the H100 3 ms of a
/// 12 ms decode step at 256 rows with top-k and top-p), kept as the harness's baseline.
/// </summary>
internal sealed class SamplingKernel : IDisposable
{
    /// <summary>Floats per row of the parameter array: temperature, top_k, top_p, min_p, uniform, top_logprobs (-1: none).</summary>
    public const int ParamsPerRow = 6;

    /// <summary>Floats per row of the logprob output: the chosen token's, then the best <see cref="ForwardOutput.MaxTopLogprobs"/>.</summary>
    public const int LogprobsPerRow = 1 + ForwardOutput.MaxTopLogprobs;

    private readonly CudaModule _module;
    private readonly KernelFunction _bisect;
    private readonly KernelFunction _radix;

    public SamplingKernel(CudaDevice device, KernelCompiler compiler, bool radix = true)
    {
        _module = new CudaModule(device, compiler.Compile("sampling.cu"), "sampling.cu");
        _bisect = _module.GetFunction("sample_rows").WithProgrammaticLaunch();
        _radix = _module.GetFunction("sample_rows_radix").WithProgrammaticLaunch();
        Radix = radix;
    }

    /// <summary>Whether the thresholds come from radix selection (else bisection); settable so the harness times both.</summary>
    public bool Radix { get; set; }

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
        (Radix ? _radix : _bisect).Launch(stream, rows, 1024, ref a);
    }

    public void Dispose() => _module.Dispose();
}
