namespace Brim.Backends.Cuda;

/// <summary>Settings of a <see cref="CudaBackend"/>.</summary>
public sealed record CudaBackendOptions
{
    public int DeviceOrdinal { get; init; }

    /// <summary>Replay decode steps (all slices one token) as CUDA graphs per batch-size bucket.</summary>
    public bool UseCudaGraphs { get; init; } = true;

    /// <summary>Tokens per step the activation buffers are first sized for (they grow when a batch needs more).</summary>
    public int InitialMaxBatchTokens { get; init; } = 2048;

    /// <summary>Logit rows per step the output buffers are first sized for.</summary>
    public int InitialMaxLogitRows { get; init; } = 256;

    /// <summary>Where compiled kernels are cached; null for the default (~/.cache/brim/kernels or $BRIM_KERNEL_CACHE).</summary>
    public string? KernelCacheDirectory { get; init; }
}
