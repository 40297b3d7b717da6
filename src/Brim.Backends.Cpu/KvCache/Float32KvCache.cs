using System.Numerics.Tensors;
using Brim.Backends.Cpu.Kernels;

namespace Brim.Backends.Cpu.KvCache;

/// <summary>
/// The float32 cache (<c>--kv-cache-dtype auto</c>): per layer, K and V each [numBlocks, blockSize, kvDim] floats, so
/// the key (or value) of a position, all KV heads together, is kvDim floats and head h starts h * headDim into them.
/// </summary>
internal sealed class Float32KvCache(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim)
    : PagedKvCache<float>(numLayers, numBlocks, blockSize, numKvHeads, headDim, numKvHeads * headDim)
{
    public static long BytesPerPosition(int kvDim) => (long)kvDim * sizeof(float);

    public override void Write(int layer, ReadOnlySpan<int> blockTable, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        var (block, inBlock) = Locate(blockTable, position);
        var row = RowOffset(block, inBlock);
        key.CopyTo(Keys(layer).AsSpan(row, KvDim));
        value.CopyTo(Values(layer).AsSpan(row, KvDim));
    }

    public HeadReader Reader(int layer) => new(this, Keys(layer), Values(layer));

    private int RowOffset(int block, int inBlock) => ((block * BlockSize) + inBlock) * KvDim;

    /// <summary>Reads heads in place: a fixed-order dot product for keys, one fused multiply-add per element for values.</summary>
    internal readonly struct HeadReader(Float32KvCache cache, float[] keys, float[] values) : IKvHeadReader
    {
        public float QueryKey(ReadOnlySpan<float> query, int block, int inBlock, int kvHead) =>
            FixedOrderMath.Dot(query, keys.AsSpan(cache.RowOffset(block, inBlock) + (kvHead * cache.HeadDim), cache.HeadDim));

        public void AddWeightedValue(float weight, int block, int inBlock, int kvHead, Span<float> result)
        {
            var value = values.AsSpan(cache.RowOffset(block, inBlock) + (kvHead * cache.HeadDim), cache.HeadDim);
            TensorPrimitives.FusedMultiplyAdd(value, weight, result, result);
        }
    }
}
