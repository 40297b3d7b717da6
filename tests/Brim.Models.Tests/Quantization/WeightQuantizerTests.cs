namespace Brim.Models.Tests;

/// <summary>Quantize-on-load rounding (<c>--quantization</c>): values on each format's grid, errors within half a step.</summary>
public class WeightQuantizerTests
{
    [Fact]
    public void RoundTrip_Int8_ValuesAreWholeStepsOfTheRowScale()
    {
        var (weight, original) = RandomWeight(4, 64);

        WeightQuantizer.RoundTrip(WeightQuantization.Int8, weight, 4, 64);

        for (var o = 0; o < 4; o++)
        {
            var scale = original.AsSpan(o * 64, 64).ToArray().Max(Math.Abs) / 127f;
            for (var i = 0; i < 64; i++)
            {
                var k = weight[(o * 64) + i] / scale;
                Assert.Equal(MathF.Round(k), k, 3);
                Assert.InRange(Math.Abs(weight[(o * 64) + i] - original[(o * 64) + i]), 0, (scale / 2) * 1.001f);
            }
        }
    }

    [Theory]
    [InlineData(256, 128)]
    [InlineData(172, 172)]
    public void RoundTrip_Int4_AtMostSixteenValuesPerGroup(int inFeatures, int expectedGroup)
    {
        var (weight, original) = RandomWeight(3, inFeatures);

        WeightQuantizer.RoundTrip(WeightQuantization.Int4, weight, 3, inFeatures);

        Assert.Equal(expectedGroup, WeightQuantizer.Int4Group(inFeatures));
        for (var start = 0; start < weight.Length; start += expectedGroup)
        {
            var group = weight.AsSpan(start, expectedGroup).ToArray();
            var source = original.AsSpan(start, expectedGroup).ToArray();
            var step = (source.Max() - source.Min()) / 15f;
            Assert.InRange(group.Distinct().Count(), 2, 16);
            Assert.All(group.Zip(source), pair => Assert.InRange(Math.Abs(pair.First - pair.Second), 0, step * 0.501f + 1e-6f));
        }
    }

    [Fact]
    public void RoundTrip_Fp8_RelativeErrorWithinHalfAMantissaStep()
    {
        var (weight, original) = RandomWeight(2, 100);

        WeightQuantizer.RoundTrip(WeightQuantization.Fp8, weight, 2, 100);

        for (var k = 0; k < weight.Length; k++)
        {
            // Normal E4M3 values carry 3 mantissa bits: a relative error of at most 2^-4; tiny values sit on the subnormal grid.
            var scale = original.AsSpan(k / 100 * 100, 100).ToArray().Max(Math.Abs) / 448f;
            Assert.InRange(Math.Abs(weight[k] - original[k]), 0, Math.Max(Math.Abs(original[k]) / 16f, scale * MathF.ScaleB(1, -10)) * 1.001f);
        }
    }

    [Theory]
    [InlineData(WeightQuantization.Fp8)]
    [InlineData(WeightQuantization.Int8)]
    [InlineData(WeightQuantization.Int4)]
    public void Load_QuantizationOnStories260K_RoundsDecoderLinearsOnly(WeightQuantization kind)
    {
        using var plain = ModelLoader.Load(TestPaths.Stories260K);
        using var quantized = ModelLoader.Load(TestPaths.Stories260K, quantization: kind);

        Assert.Equal(kind, quantized.Quantization!.Kind);
        Assert.Null(quantized.Quantization.Scheme);
        Assert.InRange(quantized.Quantization.StoredBytes, 1, plain.Config.ParameterCount * sizeof(float) / 2);
        Assert.True(Read(plain, LlamaTensorNames.Embedding).SequenceEqual(Read(quantized, LlamaTensorNames.Embedding)));
        var before = Read(plain, LlamaTensorNames.DownWeight(0));
        var after = Read(quantized, LlamaTensorNames.DownWeight(0));
        Assert.False(before.SequenceEqual(after));
        Assert.Equal(before.Length, after.Length);
    }

    [Fact]
    public void Load_DummyFormatWithInt4_RoundsTheGeneratedWeights()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), Brim.Tests.QuantizedCheckpoints.ConfigJson(null));

        using var plain = ModelLoader.Load(temp.Path, LoadFormat.Dummy, dummySeed: 3);
        using var quantized = ModelLoader.Load(temp.Path, LoadFormat.Dummy, dummySeed: 3, quantization: WeightQuantization.Int4);

        var before = Read(plain, LlamaTensorNames.UpWeight(1));
        var after = Read(quantized, LlamaTensorNames.UpWeight(1));
        Assert.Equal("int4 per-row (128 does not divide the inputs), quantized on load", quantized.Quantization!.Description);
        Assert.Null(quantized.Weights.DummySeed);
        Assert.False(before.SequenceEqual(after));
        Assert.All(after.Chunk(32), row => Assert.InRange(row.Distinct().Count(), 2, 16));
    }

    private static float[] Read(LoadedModel model, string name)
    {
        var values = new float[model.Weights.GetInfo(name).ElementCount];
        model.Weights.ReadAsFloat32(name, values);
        return values;
    }

    private static (float[] Weight, float[] Original) RandomWeight(int rows, int cols)
    {
        var random = new Random(rows * 1000 + cols);
        var original = Enumerable.Range(0, rows * cols).Select(_ => (float)((random.NextDouble() * 2) - 1) * 0.05f).ToArray();
        return ((float[])original.Clone(), original);
    }
}
