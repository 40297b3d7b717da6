using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Every kernel a forward step uses, compiled for one model's attention shape.</summary>
internal sealed class ModelKernels : IDisposable
{
    public ModelKernels(CudaDevice device, KernelCompiler compiler, AttentionShape shape)
    {
        Embedding = new EmbeddingKernel(device, compiler);
        RmsNorm = new RmsNormKernel(device, compiler);
        Rope = new RopeKernel(device, compiler, shape);
        Attention = new AttentionKernel(device, compiler, shape);
        PrefillAttention = PrefillAttentionKernel.Supports(shape, compiler.ComputeCapability) ? new PrefillAttentionKernel(device, compiler, shape) : null;
        LongPrefillAttention = PrefillAttention is not null && LongPrefillAttentionKernel.Supports(shape, compiler.ComputeCapability)
            ? new LongPrefillAttentionKernel(device, compiler, shape)
            : null;
        SwiGlu = new SwiGluKernel(device, compiler);
        Gemv = new GemvKernel(device, compiler);
        Sampling = new SamplingKernel(device, compiler);
    }

    public EmbeddingKernel Embedding { get; }

    public RmsNormKernel RmsNorm { get; }

    public RopeKernel Rope { get; }

    public AttentionKernel Attention { get; }

    /// <summary>Tensor-core attention for multi-token steps; null where the shape or device does not support it.</summary>
    public PrefillAttentionKernel? PrefillAttention { get; }

    /// <summary>Tensor-core attention for long prefill chunks (128-slot tiles); null where unsupported or without <see cref="PrefillAttention"/>.</summary>
    public LongPrefillAttentionKernel? LongPrefillAttention { get; }

    /// <summary>How multi-token steps are cut into query tiles for the prefill kernels this model has.</summary>
    public PrefillTiling PrefillTiling(bool longTiles = true)
        => PrefillAttention is null ? Kernels.PrefillTiling.None : new(PrefillAttention.RowsPerTile, longTiles ? LongPrefillAttention?.RowsPerTile ?? 0 : 0);

    public SwiGluKernel SwiGlu { get; }

    public SamplingKernel Sampling { get; }

    /// <summary>CUDA-core linear layers for steps of very few rows (weight streaming at close to copy bandwidth).</summary>
    public GemvKernel Gemv { get; }

    public void Dispose()
    {
        Embedding.Dispose();
        RmsNorm.Dispose();
        Rope.Dispose();
        Attention.Dispose();
        PrefillAttention?.Dispose();
        LongPrefillAttention?.Dispose();
        SwiGlu.Dispose();
        Sampling.Dispose();
        Gemv.Dispose();
    }
}
