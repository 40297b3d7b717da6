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

    /// <summary>x[t, :] (fp32) = table[tokenIds[t], :] (bf16) for t &lt; tokens. Ids must be valid rows of the table.</summary>
    public void Gather(CudaStream stream, ulong table, ulong tokenIds, ulong x, int tokens, int hidden)
    {
        Launch.Positive(tokens, nameof(tokens));
        Launch.Positive(hidden, nameof(hidden));
        var a = default(KernelArguments);
        a.Add(table);
        a.Add(tokenIds);
        a.Add(x);
        a.Add(hidden);
        _gather.Launch(stream, tokens, Launch.RowThreads(hidden, 256), ref a);
    }

    public void Dispose() => _module.Dispose();
}
