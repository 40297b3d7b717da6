using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Support;

namespace Brim.Backends.Cuda.Tests.Execution;

/// <summary>The cache's byte layout per format (kv_cache.cuh): host-side arithmetic, so this runs without a GPU.</summary>
public class PagedKvCacheLayoutTests
{
    [Fact]
    public void BytesPerBlock_Llama8BShape_Fp8IsCodesPlusOneScalePerHeadVector()
    {
        var config = RandomModels.Llama3Like() with { NumLayers = 32, NumHeads = 32, NumKvHeads = 8, HeadDim = 128, HiddenSize = 4096 };
        var bf16 = PagedKvCache.BytesPerBlock(config, AttentionShape.From(config), 16);
        var fp8 = PagedKvCache.BytesPerBlock(config, AttentionShape.From(config, kvFp8: true), 16);

        Assert.Equal(2L * 32 * 16 * 8 * 128 * 2, bf16);                 // K and V, layers, positions, heads, dims, 2 bytes
        Assert.Equal(2L * 32 * 16 * 8 * (128 + sizeof(float)), fp8);    // one byte a value, a float scale per head vector
        Assert.Equal(1.94, (double)bf16 / fp8, 2);                      // what the startup line reports
    }

    [Fact]
    public void SegmentBytes_Fp8_StaysSixteenByteAligned()
    {
        // Blocks follow each other in a layer's tensor, and kernels load 16 bytes at a time from each block's rows.
        foreach (var blockSize in new[] { 1, 8, 16, 32 })
        {
            var segment = PagedKvCache.SegmentBytesOf(new AttentionShape(32, 8, 128, false, KvFp8: true), blockSize);
            Assert.Equal(0, segment % 16);
        }
    }

    [Fact]
    public void CheckAlignment_Fp8BlockNotSixteenByteAligned_RefusedNamingTheBlockSize()
    {
        var shape = new AttentionShape(4, 2, 64, false, KvFp8: true); // 2 heads x (64 + 4) bytes a position
        PagedKvCache.CheckAlignment(shape, 16);
        var error = Assert.Throws<ArgumentException>(() => PagedKvCache.CheckAlignment(shape, 1));
        Assert.Contains("--block-size 1", error.Message, StringComparison.Ordinal);
    }
}
