namespace Brim.Models.Tests;

public class DummyWeightsTests
{
    private const string QProj = "model.layers.0.self_attn.q_proj.weight";

    [Theory]
    [InlineData("", 0xcbf29ce484222325UL)]
    [InlineData("a", 0xaf63dc4c8601ec8cUL)] // FNV-1a 64 published test vector
    public void HashName_KnownVectors_MatchFnv1a64(string name, ulong expected)
    {
        Assert.Equal(expected, DummyWeights.HashName(name));
    }

    // Expected bits come from Reference/dummy_reference.py, an independent Python implementation of the spec.
    [Theory]
    [InlineData(0, QProj, 0L, 64, 0xbca54558u)]
    [InlineData(42, QProj, 12345L, 64, 0x3da3c38eu)]
    [InlineData(-3, "model.embed_tokens.weight", 7L, 172, 0xbbcaf5deu)]
    public void Value_Matrix_MatchesReferenceBits(int seed, string name, long index, long columns, uint expectedBits)
    {
        var value = DummyWeights.Value(seed, DummyWeights.HashName(name), index, DummyTensorKind.Matrix, columns);

        Assert.Equal(expectedBits, BitConverter.SingleToUInt32Bits(value));
    }

    [Fact]
    public void Value_NormAndBias_MatchReferenceBits()
    {
        var norm = DummyWeights.Value(7, DummyWeights.HashName("model.norm.weight"), 3, DummyTensorKind.Norm, 1);
        var bias = DummyWeights.Value(7, DummyWeights.HashName("model.layers.1.self_attn.k_proj.bias"), 5, DummyTensorKind.Bias, 1);

        Assert.Equal(0x3f6681dfu, BitConverter.SingleToUInt32Bits(norm));
        Assert.Equal(0x3c4baf47u, BitConverter.SingleToUInt32Bits(bias));
    }

    [Theory]
    [InlineData("model.norm.weight", new long[] { 8 }, DummyTensorKind.Norm)]
    [InlineData("model.layers.3.post_attention_layernorm.weight", new long[] { 8 }, DummyTensorKind.Norm)]
    [InlineData("model.layers.3.self_attn.q_proj.bias", new long[] { 8 }, DummyTensorKind.Bias)]
    [InlineData("lm_head.weight", new long[] { 8, 4 }, DummyTensorKind.Matrix)]
    public void KindOf_ByRankAndName_PicksTheSpecRule(string name, long[] shape, DummyTensorKind expected)
    {
        Assert.Equal(expected, DummyWeights.KindOf(new TensorInfo(name, TensorDType.F32, shape)));
    }

    [Fact]
    public void Fill_SameSeed_IsDeterministicAndSeedsDiffer()
    {
        var info = new TensorInfo(QProj, TensorDType.F32, [16, 16]);
        float[] a = new float[256], b = new float[256], c = new float[256];

        DummyWeights.Fill(1, info, 0, a);
        DummyWeights.Fill(1, info, 0, b);
        DummyWeights.Fill(2, info, 0, c);

        Assert.Equal(a, b);
        Assert.True(a.Zip(c).Count(p => p.First != p.Second) > 250);
    }

    [Fact]
    public void Fill_Matrix_HasUniformScaleOfOneOverSqrtColumns()
    {
        var info = new TensorInfo(QProj, TensorDType.F32, [256, 1024]);
        var values = new float[256 * 1024];
        DummyWeights.Fill(0, info, 0, values);

        var bound = 1.0 / Math.Sqrt(1024);
        var mean = values.Average(v => (double)v);
        var std = Math.Sqrt(values.Average(v => (double)v * v) - (mean * mean));
        Assert.All(values, v => Assert.InRange(v, -bound, bound));
        Assert.InRange(mean, -0.001 * bound * 10, 0.001 * bound * 10);
        Assert.InRange(std, 0.98 * bound / Math.Sqrt(3), 1.02 * bound / Math.Sqrt(3)); // uniform on [-b, b]: std b/√3
    }

    [Fact]
    public void Fill_NormAndBias_StayInTheirRanges()
    {
        var norm = new float[4096];
        var bias = new float[4096];
        DummyWeights.Fill(0, new TensorInfo("model.layers.0.input_layernorm.weight", TensorDType.F32, [4096]), 0, norm);
        DummyWeights.Fill(0, new TensorInfo("model.layers.0.self_attn.v_proj.bias", TensorDType.F32, [4096]), 0, bias);

        Assert.All(norm, v => Assert.InRange(v, 0.9f, 1.1f));
        Assert.InRange(norm.Average(), 0.99, 1.01);
        Assert.All(bias, v => Assert.InRange(v, -0.02f, 0.02f));
        Assert.True(bias.Max() > 0.019f && bias.Min() < -0.019f);
    }

    [Fact]
    public void Fill_FromAnOffset_MatchesTheSameElementsOfAFullFill()
    {
        var info = new TensorInfo(QProj, TensorDType.F32, [8, 64]);
        var full = new float[512];
        var part = new float[100];
        DummyWeights.Fill(5, info, 0, full);
        DummyWeights.Fill(5, info, 300, part);

        Assert.Equal(full[300..400], part);
    }
}
