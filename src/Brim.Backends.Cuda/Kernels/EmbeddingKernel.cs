using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launcher for embedding.cu.</summary>
internal sealed class EmbeddingKernel : IDisposable
{
    private readonly CudaModule _module;
    private readonly KernelFunction _gather;

    public EmbeddingKernel(CudaDevice device, KernelCompiler compiler)
    {
        _module = new CudaModule(device, compiler.Compile("embedding.cu"), "embedding.cu");
        _gather = _module.GetFunction("embedding_gather");
    }

    /// <summary>
    /// x[t, :] (fp32) = table[tokenIds[t] - firstId, :] (bf16) for t &lt; tokens where the table holds that id (its
    /// <paramref name="rows"/> rows are ids firstId onwards), else zeros: a tensor-parallel rank's vocabulary slice. A whole
    /// table is firstId 0 and every id below <paramref name="rows"/>.
    /// </summary>
    public void Gather(CudaStream stream, ulong table, ulong tokenIds, ulong x, int tokens, int hidden, int firstId, int rows)
    {
        Launch.Positive(tokens, nameof(tokens));
        Launch.Positive(hidden, nameof(hidden));
        Launch.Positive(rows, nameof(rows));
        ArgumentOutOfRangeException.ThrowIfNegative(firstId);
        var a = default(KernelArguments);
        a.Add(table);
        a.Add(tokenIds);
        a.Add(x);
        a.Add(hidden);
        a.Add(firstId);
        a.Add(rows);
        _gather.Launch(stream, tokens, Launch.RowThreads(hidden, 256), ref a);
    }

    public void Dispose() => _module.Dispose();
}
