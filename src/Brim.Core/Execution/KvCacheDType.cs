namespace Brim.Core.Execution;

/// <summary>
/// How a backend stores the paged KV cache (<c>--kv-cache-dtype</c>, vLLM's name). Quantized caches store each
/// (token, KV head) vector with its own scale (its absolute maximum over the head's dimensions mapped to the format's
/// largest value), written beside the block it belongs to: quantizing a token never depends on its neighbours, so a
/// sequence's cache is the same whatever the batch or the prefill chunking, no calibration is needed, and a block
/// (data and scales) stays one contiguous segment for swapping. Each backend supports <see cref="Auto"/> and one
/// quantized format; the other is refused by name.
/// </summary>
public enum KvCacheDType
{
    /// <summary>The backend's native precision: bf16 on CUDA, float32 on the CPU.</summary>
    Auto,

    /// <summary>FP8 E4M3 with a float scale per (token, KV head): about half of bf16's bytes (CUDA, sm_89+).</summary>
    Fp8,

    /// <summary>INT8 with a float scale per (token, KV head): about a quarter of float32's bytes (CPU).</summary>
    Int8,
}

/// <summary>Names of <see cref="KvCacheDType"/> as the command line and logs spell them.</summary>
public static class KvCacheDTypes
{
    public static string Name(this KvCacheDType type) => type switch
    {
        KvCacheDType.Auto => "auto",
        KvCacheDType.Fp8 => "fp8",
        KvCacheDType.Int8 => "int8",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
