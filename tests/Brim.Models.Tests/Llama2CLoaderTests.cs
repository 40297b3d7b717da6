using System.Buffers.Binary;

namespace Brim.Models.Tests;

public class Llama2CLoaderTests
{
    private const int Dim = 64, Hidden = 172, Layers = 5, KvDim = 32, Vocab = 512, SeqLen = 512, HeadSize = 8;

    [Fact]
    public void Load_Stories260K_ConfigMatchesHeader()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);
        var config = model.Config;

        Assert.Equal("llama2.c", config.Architecture);
        Assert.Equal((Dim, Hidden, Layers, 8, 4, Vocab, SeqLen), (config.HiddenSize, config.IntermediateSize, config.NumLayers, config.NumHeads, config.NumKvHeads, config.VocabSize, config.MaxPositions));
        Assert.Equal(HeadSize, config.HeadDim);
        Assert.Equal(RopeStyle.Interleaved, config.RopeStyle);
        Assert.Equal(10000.0, config.RopeTheta);
        Assert.Equal(1e-5f, config.RmsNormEps);
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal([2], config.EosTokenIds);
        Assert.Equal(TensorDType.F32, config.WeightDType);
        Assert.Null(model.Weights.DummySeed);
    }

    [Fact]
    public void Load_Stories260K_HoldsExactlyTheManifest()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);

        var expected = WeightManifest.For(model.Config).Select(t => t.ToString()).Order();
        var actual = model.Weights.Tensors.Select(t => t.ToString()).Order();
        Assert.Equal(expected, actual);
        Assert.False(model.Weights.Contains(LlamaTensorNames.LmHead));
        Assert.Equal(Vocab, model.Weights.GetInfo(LlamaTensorNames.Embedding).Shape[0]);
        Assert.Equal(model.Config.ParameterCount, model.Weights.Tensors.Sum(t => t.ElementCount));
    }

    [Fact]
    public void ReadAsFloat32_Stories260K_NormsArePlausible()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);

        foreach (var name in new[] { LlamaTensorNames.InputNorm(0), LlamaTensorNames.PostAttentionNorm(4), LlamaTensorNames.FinalNorm })
        {
            var values = new float[Dim];
            model.Weights.ReadAsFloat32(name, values);
            Assert.Contains(values, v => v != 0f);
            Assert.All(values, v => Assert.True(float.IsFinite(v) && Math.Abs(v) < 100f, $"{name}: {v}"));
        }
    }

    [Theory]
    [InlineData("model.embed_tokens.weight", 0L)]
    [InlineData("model.layers.2.self_attn.k_proj.weight", (Vocab * Dim) + (Layers * Dim) + (Layers * Dim * Dim) + (2 * KvDim * Dim))]
    [InlineData("model.layers.3.mlp.down_proj.weight", (Vocab * Dim) + (2 * Layers * Dim) + (2 * Layers * Dim * Dim) + (2 * Layers * KvDim * Dim) + (Layers * Hidden * Dim) + (3 * Dim * Hidden))]
    [InlineData("model.layers.4.mlp.up_proj.weight", (Vocab * Dim) + (2 * Layers * Dim) + (2 * Layers * Dim * Dim) + (2 * Layers * KvDim * Dim) + (2 * Layers * Hidden * Dim) + (4 * Hidden * Dim))]
    [InlineData("model.norm.weight", (Vocab * Dim) + (2 * Layers * Dim) + (2 * Layers * Dim * Dim) + (2 * Layers * KvDim * Dim) + (3 * Layers * Hidden * Dim))]
    public void ReadAsFloat32_Stories260K_MatchesDirectReadAtRunCOffset(string name, long floatOffset)
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);
        var info = model.Weights.GetInfo(name);
        var values = new float[info.ElementCount];
        model.Weights.ReadAsFloat32(name, values);

        var direct = ReadFloatsDirectly(TestPaths.Stories260K, 28 + (floatOffset * 4), 16);
        Assert.Equal(direct, values[..16]);
    }

    [Fact]
    public void ReadRaw_Stories260K_ReturnsStoredBytesOfARange()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);
        var raw = new byte[40];
        model.Weights.ReadRaw(LlamaTensorNames.Embedding, 400, raw);

        var fileBytes = File.ReadAllBytes(TestPaths.Stories260K);
        Assert.Equal(fileBytes.AsSpan(28 + 400, 40).ToArray(), raw);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Weights.ReadRaw(LlamaTensorNames.FinalNorm, 250, new byte[8]));
    }

    [Fact]
    public void Load_DirectoryWithCheckpointAndTokenizer_LoadsTheCheckpoint()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260KDirectory);

        Assert.Equal(TestPaths.Stories260K, model.Path);
        Assert.Equal(Dim, model.Config.HiddenSize);
    }

    [Fact]
    public void Load_UnsharedClassifier_ExposesLmHeadAfterRopeTables()
    {
        using var temp = new TempDirectory();
        var path = temp.File("tiny.bin");
        var header = new[] { 8, 12, 2, 2, 1, -10, 6 }; // dim 8, hidden 12, 2 layers, 2 heads, 1 kv head, unshared vocab 10, seq 6
        var floatsBeforeRope = (10 * 8) + (2 * 8) + (2 * 8 * 8) + (2 * 2 * 4 * 8) + (2 * 8 * 8) + (2 * 8) + (3 * 2 * 12 * 8) + 8;
        var ropeFloats = 2 * 6 * (4 / 2);
        var total = floatsBeforeRope + ropeFloats + (10 * 8);
        WriteCheckpoint(path, header, Enumerable.Range(0, total).Select(i => (float)i).ToArray());

        using var model = ModelLoader.Load(path);

        Assert.False(model.Config.TieWordEmbeddings);
        var lmHead = new float[80];
        model.Weights.ReadAsFloat32(LlamaTensorNames.LmHead, lmHead);
        Assert.Equal(floatsBeforeRope + ropeFloats, lmHead[0]);
        Assert.Equal(total - 1, lmHead[^1]);
        Assert.Equal(model.Config.ParameterCount, model.Weights.Tensors.Sum(t => t.ElementCount));
    }

    [Fact]
    public void Load_TruncatedCheckpoint_ThrowsNamingTheSizes()
    {
        using var temp = new TempDirectory();
        var path = temp.File("truncated.bin");
        var bytes = File.ReadAllBytes(TestPaths.Stories260K);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(path));

        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        Assert.Contains(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FileShorterThanHeader_ThrowsModelLoadException()
    {
        using var temp = new TempDirectory();
        var path = temp.File("short.bin");
        File.WriteAllBytes(path, new byte[10]);

        Assert.Throws<ModelLoadException>(() => ModelLoader.Load(path));
    }

    [Fact]
    public void Load_MissingPath_ThrowsNamingIt()
    {
        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load("/nonexistent/model.bin"));

        Assert.Contains("/nonexistent/model.bin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DummyFormatOnCheckpoint_KeepsConfigAndGeneratesWeights()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K, LoadFormat.Dummy, dummySeed: 7);

        Assert.Equal(7, model.Weights.DummySeed);
        Assert.Equal(Dim, model.Config.HiddenSize);
        WeightManifest.Validate(model.Config, model.Weights, "dummy");
    }

    private static float[] ReadFloatsDirectly(string path, long byteOffset, int count)
    {
        using var stream = File.OpenRead(path);
        stream.Position = byteOffset;
        var bytes = new byte[count * 4];
        stream.ReadExactly(bytes);
        return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4))).ToArray();
    }

    private static void WriteCheckpoint(string path, int[] header, float[] weights)
    {
        var bytes = new byte[(header.Length + weights.Length) * 4];
        for (var i = 0; i < header.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), header[i]);
        }

        for (var i = 0; i < weights.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan((header.Length + i) * 4), weights[i]);
        }

        File.WriteAllBytes(path, bytes);
    }
}
