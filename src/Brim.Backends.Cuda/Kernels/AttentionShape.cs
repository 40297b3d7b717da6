using Brim.Models;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// The head layout and the KV cache format baked into the rope and attention kernels as compile-time constants
/// (<paramref name="KvFp8"/>: the cache holds E4M3 values with a scale per position and KV head, kv_cache.cuh).
/// </summary>
internal sealed record AttentionShape(int NumHeads, int NumKvHeads, int HeadDim, bool RopeInterleaved, bool KvFp8 = false)
{
    public static AttentionShape From(ModelConfig config, bool kvFp8 = false)
        => new(config.NumHeads, config.NumKvHeads, config.HeadDim, config.RopeStyle == RopeStyle.Interleaved, kvFp8);

    public int Group => NumHeads / NumKvHeads;

    public int QueryDim => NumHeads * HeadDim;

    public int KvDim => NumKvHeads * HeadDim;

    /// <summary>Width of a row of the fused q/k/v projection: [q | k | v].</summary>
    public int QkvDim => QueryDim + (2 * KvDim);

    public IReadOnlyDictionary<string, int> Defines => new Dictionary<string, int>
    {
        ["NUM_HEADS"] = NumHeads,
        ["NUM_KV_HEADS"] = NumKvHeads,
        ["HEAD_DIM"] = HeadDim,
        ["ROPE_INTERLEAVED"] = RopeInterleaved ? 1 : 0,
        ["KV_FP8"] = KvFp8 ? 1 : 0,
    };

    /// <summary>Bytes one position of one KV head takes in the cache, K or V: bf16 values, or E4M3 values and a float scale.</summary>
    public int KvBytesPerHeadPosition => KvFp8 ? HeadDim + sizeof(float) : HeadDim * 2;

    public void Validate()
    {
        if (NumHeads <= 0 || NumKvHeads <= 0 || NumHeads % NumKvHeads != 0 || HeadDim <= 0 || HeadDim % 2 != 0 || HeadDim > 256)
        {
            throw new ArgumentException($"unsupported attention shape {this}: heads must be a multiple of kv heads, head_dim even and at most 256");
        }
    }
}
