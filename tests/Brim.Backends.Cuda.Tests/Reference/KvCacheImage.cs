using Brim.Backends.Cuda.Kernels;

namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>
/// A paged KV cache tensor (one layer's K or V) as the device stores it (kv_cache.cuh): bf16 values, or per block the
/// E4M3 codes followed by a float scale per (kv head, offset). Built from values in the logical layout
/// [block][kv_head][offset][head_dim]; <see cref="Values"/> holds what the cache represents in that same layout (the
/// bf16 rounding, or code × scale), which is what a reference attention must read.
/// </summary>
internal sealed class KvCacheImage
{
    private KvCacheImage(byte[] bytes, float[] values)
    {
        Bytes = bytes;
        Values = values;
    }

    public byte[] Bytes { get; }

    public float[] Values { get; }

    public static KvCacheImage Build(ReadOnlySpan<float> logical, AttentionShape shape, int numBlocks, int blockSize)
    {
        var rows = numBlocks * shape.NumKvHeads * blockSize;
        if (logical.Length != rows * shape.HeadDim)
        {
            throw new ArgumentException($"{logical.Length} values for {rows} rows of {shape.HeadDim}");
        }

        var values = new float[logical.Length];
        if (!shape.KvFp8)
        {
            var bits = Bf16.ToBits(logical);
            for (var i = 0; i < bits.Length; i++)
            {
                values[i] = Bf16.FromBits(bits[i]);
            }

            return new KvCacheImage(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan()).ToArray(), values);
        }

        var segment = shape.NumKvHeads * blockSize * (shape.HeadDim + sizeof(float));
        var bytes = new byte[numBlocks * segment];
        for (var row = 0; row < rows; row++)
        {
            int block = row / (shape.NumKvHeads * blockSize), inBlock = row % (shape.NumKvHeads * blockSize);
            var (codes, scale) = Fp8.QuantizeVector(logical.Slice(row * shape.HeadDim, shape.HeadDim));
            codes.CopyTo(bytes, (block * segment) + (inBlock * shape.HeadDim));
            BitConverter.TryWriteBytes(bytes.AsSpan((block * segment) + (shape.NumKvHeads * blockSize * shape.HeadDim) + (inBlock * sizeof(float))), scale);
            for (var d = 0; d < shape.HeadDim; d++)
            {
                values[(row * shape.HeadDim) + d] = Fp8.Decode(codes[d]) * scale;
            }
        }

        return new KvCacheImage(bytes, values);
    }

    /// <summary>What a device cache tensor of this shape represents, in the logical layout (reads codes and scales back).</summary>
    public static float[] Read(ReadOnlySpan<byte> device, AttentionShape shape, int numBlocks, int blockSize)
    {
        var rows = numBlocks * shape.NumKvHeads * blockSize;
        var values = new float[rows * shape.HeadDim];
        if (!shape.KvFp8)
        {
            var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(device);
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Bf16.FromBits(bits[i]);
            }

            return values;
        }

        var segment = shape.NumKvHeads * blockSize * (shape.HeadDim + sizeof(float));
        for (var row = 0; row < rows; row++)
        {
            int block = row / (shape.NumKvHeads * blockSize), inBlock = row % (shape.NumKvHeads * blockSize);
            var scale = BitConverter.ToSingle(device.Slice((block * segment) + (shape.NumKvHeads * blockSize * shape.HeadDim) + (inBlock * sizeof(float)), sizeof(float)));
            for (var d = 0; d < shape.HeadDim; d++)
            {
                values[(row * shape.HeadDim) + d] = Fp8.Decode(device[(block * segment) + (inBlock * shape.HeadDim) + d]) * scale;
            }
        }

        return values;
    }
}
