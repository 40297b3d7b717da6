using Brim.Backends.Cpu.Kernels;
using Brim.Backends.Cpu.KvCache;

namespace Brim.Backends.Cpu.Tests;

/// <summary>The INT8 KV format: one symmetric scale per (token, KV head) vector, round half to even, ±127.</summary>
public sealed class Int8KvQuantizerTests
{
    [Fact]
    public void Quantize_RandomVectorsOfManyLengthsAndMagnitudes_RoundTripErrorAtMostHalfScale()
    {
        var random = new Random(17);
        foreach (var magnitude in new[] { 1e-30f, 1e-3f, 1f, 37f, 1e6f })
        {
            for (var length = 1; length <= 70; length++)
            {
                var x = Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1) * magnitude).ToArray();
                var q = new sbyte[length];
                var scale = Int8KvQuantizer.Quantize(x, q);
                var back = new float[length];
                Int8KvQuantizer.Dequantize(q, scale, back);

                Assert.Equal(x.Max(MathF.Abs) / 127, scale);
                Assert.Contains(q, v => Math.Abs(v) == 127); // the largest magnitude uses the whole range
                for (var i = 0; i < length; i++)
                {
                    Assert.InRange(q[i], -127, 127);
                    Assert.Equal(q[i] * scale, back[i]);
                    // Half a step, plus the float rounding of x / scale and of q · scale.
                    Assert.True(Math.Abs(back[i] - x[i]) <= (scale / 2) + (2e-7f * Math.Abs(x[i])), $"{x[i]} came back as {back[i]} (scale {scale})");
                }
            }
        }
    }

    [Fact]
    public void Quantize_ZeroVector_HasScaleZeroAndStaysZero()
    {
        var q = new sbyte[] { 5, -5, 9 };
        var scale = Int8KvQuantizer.Quantize(new float[3], q);
        var back = new float[] { 1, 1, 1 };
        Int8KvQuantizer.Dequantize(q, scale, back);

        Assert.Equal(0f, scale);
        Assert.Equal(new sbyte[3], q);
        Assert.All(back, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Quantize_ExactHalves_RoundToEvenAndSymmetrically()
    {
        // max |x| = 127, so the scale is exactly 1 and x / scale is x itself.
        float[] x = [127, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -127, 126.5f];
        var q = new sbyte[x.Length];

        Assert.Equal(1f, Int8KvQuantizer.Quantize(x, q));
        Assert.Equal(new sbyte[] { 127, 2, 4, -2, -4, 0, -127, 126 }, q);
    }

    [Fact]
    public void Int8KvCacheWrite_HeadsOfVeryDifferentMagnitude_EachHeadKeepsItsOwnScale()
    {
        const int heads = 3;
        const int headDim = 6;
        var cache = new Int8KvCache(numLayers: 2, numBlocks: 3, blockSize: 4, heads, headDim);
        int[] table = [2, 0];
        var random = new Random(8);
        var magnitudes = new[] { 1e-3f, 1f, 500f };
        float[] Row() => Enumerable.Range(0, heads * headDim).Select(i => (float)((random.NextDouble() * 2) - 1) * magnitudes[i / headDim]).ToArray();
        var key = Row();
        var value = Row();

        cache.Write(layer: 1, table, position: 5, key, value);
        for (var p = 0; p < 8; p++)
        {
            if (p != 5)
            {
                cache.Write(layer: 1, table, p, Row(), Row()); // neighbours in the same and the other block
            }
        }

        cache.Write(layer: 0, table, position: 5, Row(), Row()); // the same slot of another layer
        var (block, inBlock) = cache.Locate(table, 5);
        Assert.Equal((0, 1), (block, inBlock));
        foreach (var (row, array) in new[] { (key, cache.Keys(1)), (value, cache.Values(1)) })
        {
            for (var head = 0; head < heads; head++)
            {
                var alone = new sbyte[headDim];
                var scale = Int8KvQuantizer.Quantize(row.AsSpan(head * headDim, headDim), alone);
                Assert.Equal(scale, cache.Scale(array, block, inBlock, head));
                Assert.Equal(alone, cache.Data(array, block, inBlock, head).ToArray());
                Assert.InRange(scale, magnitudes[head] / 127 / 10, magnitudes[head] / 127);
            }
        }
    }
}
