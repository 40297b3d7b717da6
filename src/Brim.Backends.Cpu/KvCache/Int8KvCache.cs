using System.Runtime.InteropServices;
using Brim.Backends.Cpu.Kernels;

namespace Brim.Backends.Cpu.KvCache;

/// <summary>
/// The INT8 cache (<c>--kv-cache-dtype int8</c>): every (position, KV head) vector of K and of V stored as headDim
/// sbytes with its own float scale (<see cref="Int8KvQuantizer"/>), about a quarter of float32's bytes.
/// </summary>
/// <remarks>
/// Layout, per layer and separately for K and V: one byte array of numBlocks segments; a block's segment holds its data
/// [blockSize, kvDim] sbytes, then its scales [blockSize, numKvHeads] floats. Scales live inside the block they
/// describe, so one block of one layer's K (or V) is one contiguous copy for the swap space, and the data of a position
/// keeps the float cache's order (head h at h * headDim). Scales are read unaligned: a block's data need not end on a
/// multiple of four bytes, and x64/arm64 load unaligned floats at full speed.
/// </remarks>
internal sealed class Int8KvCache(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim)
    : PagedKvCache<byte>(numLayers, numBlocks, blockSize, numKvHeads, headDim, (int)BytesPerPosition(numKvHeads, headDim))
{
    /// <summary>Data (one byte per element) and one float scale per KV head.</summary>
    public static long BytesPerPosition(int numKvHeads, int headDim) => ((long)numKvHeads * headDim) + ((long)numKvHeads * sizeof(float));

    public override void Write(int layer, ReadOnlySpan<int> blockTable, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        var (block, inBlock) = Locate(blockTable, position);
        Store(Keys(layer), block, inBlock, key);
        Store(Values(layer), block, inBlock, value);
    }

    public HeadReader Reader(int layer) => new(this, Keys(layer), Values(layer));

    /// <summary>The quantized head <paramref name="kvHead"/> of a position, in a layer's K or V array.</summary>
    public ReadOnlySpan<sbyte> Data(byte[] layerArray, int block, int inBlock, int kvHead) =>
        MemoryMarshal.Cast<byte, sbyte>(layerArray.AsSpan(DataOffset(block, inBlock, kvHead), HeadDim));

    /// <summary>The scale of head <paramref name="kvHead"/> of a position, in a layer's K or V array.</summary>
    public float Scale(byte[] layerArray, int block, int inBlock, int kvHead) =>
        MemoryMarshal.Read<float>(layerArray.AsSpan(ScaleOffset(block, inBlock, kvHead), sizeof(float)));

    private int DataOffset(int block, int inBlock, int kvHead) => (block * ElementsPerBlock) + (inBlock * KvDim) + (kvHead * HeadDim);

    private int ScaleOffset(int block, int inBlock, int kvHead) =>
        (block * ElementsPerBlock) + (BlockSize * KvDim) + (((inBlock * NumKvHeads) + kvHead) * sizeof(float));

    private void Store(byte[] layerArray, int block, int inBlock, ReadOnlySpan<float> row)
    {
        for (var head = 0; head < NumKvHeads; head++)
        {
            var data = MemoryMarshal.Cast<byte, sbyte>(layerArray.AsSpan(DataOffset(block, inBlock, head), HeadDim));
            var scale = Int8KvQuantizer.Quantize(row.Slice(head * HeadDim, HeadDim), data);
            MemoryMarshal.Write(layerArray.AsSpan(ScaleOffset(block, inBlock, head), sizeof(float)), in scale);
        }
    }

    /// <summary>
    /// Applies a head's scale once per position: q·k̂ = (q·int8) · scale and w·v̂ = (w · scale) · int8, the int8 values
    /// widened in registers by the fixed-order kernels (bitwise the float kernels on the widened vector).
    /// </summary>
    internal readonly struct HeadReader(Int8KvCache cache, byte[] keys, byte[] values) : IKvHeadReader
    {
        public float QueryKey(ReadOnlySpan<float> query, int block, int inBlock, int kvHead) =>
            FixedOrderMath.Dot(query, cache.Data(keys, block, inBlock, kvHead)) * cache.Scale(keys, block, inBlock, kvHead);

        public void AddWeightedValue(float weight, int block, int inBlock, int kvHead, Span<float> result) =>
            FixedOrderMath.FusedMultiplyAdd(cache.Data(values, block, inBlock, kvHead), weight * cache.Scale(values, block, inBlock, kvHead), result);
    }
}
