using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launcher for vocab_gather.cu: tensor-parallel ranks' padded logit slices, all-gathered, into [rows, vocab].</summary>
internal sealed class VocabGatherKernel : IDisposable
{
    private const int Threads = 256;
    private const int MaxBlocksPerRow = 64;
    private readonly CudaModule _module;
    private readonly KernelFunction _gather;

    public VocabGatherKernel(CudaDevice device, KernelCompiler compiler)
    {
        _module = new CudaModule(device, compiler.Compile("vocab_gather.cu"), "vocab_gather.cu");
        _gather = _module.GetFunction("vocab_gather");
    }

    /// <summary>
    /// logits[row, v] = gathered[v / perRank, row, v % perRank] for v &lt; vocab: <paramref name="gathered"/> is
    /// [ranks, rows, perRank] fp32, ranks · perRank ≥ vocab; <paramref name="logits"/> [rows, vocab] fp32.
    /// </summary>
    public void Gather(CudaStream stream, ulong gathered, ulong logits, int rows, int perRank, int vocab)
    {
        Launch.Positive(rows, nameof(rows));
        Launch.Positive(perRank, nameof(perRank));
        Launch.Positive(vocab, nameof(vocab));
        var a = default(KernelArguments);
        a.Add(gathered);
        a.Add(logits);
        a.Add(rows);
        a.Add(perRank);
        a.Add(vocab);
        _gather.Launch(stream, (Math.Min(MaxBlocksPerRow, (vocab + Threads - 1) / Threads), rows, 1), Threads, ref a);
    }

    public void Dispose() => _module.Dispose();
}
