using System.Buffers.Binary;
using System.Text;

namespace Brim.Models.Tests;

public class SafetensorsTests
{
    private const string TinyConfigJson = """
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "max_position_embeddings": 64,
         "tie_word_embeddings": true, "torch_dtype": "bfloat16", "eos_token_id": 2}
        """;

    [Theory]
    [InlineData(TensorDType.F32)]
    [InlineData(TensorDType.F16)]
    [InlineData(TensorDType.BF16)]
    public void Load_WrittenCheckpoint_RoundTripsEveryTensor(TensorDType dtype)
    {
        using var temp = new TempDirectory();
        var values = WriteTinyModel(temp.Path, dtype, shards: 1);

        using var model = ModelLoader.Load(temp.Path);

        Assert.Equal(dtype, model.Config.WeightDType); // the stored dtype wins over config.json's torch_dtype
        foreach (var (name, expected) in values)
        {
            var actual = new float[expected.Length];
            model.Weights.ReadAsFloat32(name, actual);
            Assert.Equal(RoundThrough(dtype, expected), actual);
        }
    }

    [Fact]
    public void Load_ShardedCheckpointWithIndex_FindsTensorsInEveryShard()
    {
        using var temp = new TempDirectory();
        var values = WriteTinyModel(temp.Path, TensorDType.BF16, shards: 3);

        using var model = ModelLoader.Load(temp.Path);

        Assert.Equal(3, Directory.GetFiles(temp.Path, "model-0000?-of-00003.safetensors").Length);
        foreach (var (name, expected) in values)
        {
            var actual = new float[expected.Length];
            model.Weights.ReadAsFloat32(name, actual);
            Assert.Equal(RoundThrough(TensorDType.BF16, expected), actual);
        }
    }

    [Fact]
    public void Load_Qwen2Checkpoint_ValidatesAndReadsQkvBiases()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), TinyConfigJson.Replace("LlamaForCausalLM", "Qwen2ForCausalLM", StringComparison.Ordinal));
        var config = SmallConfigs.Llama(TensorDType.F32) with { Architecture = "Qwen2ForCausalLM", AttentionBias = true };
        WriterForManifest(config, TensorDType.F32, out var values).Write(temp.File("model.safetensors"));

        using var model = ModelLoader.Load(temp.Path);

        var bias = new float[16];
        model.Weights.ReadAsFloat32(LlamaTensorNames.KeyBias(1), bias);
        Assert.True(model.Config.AttentionBias);
        Assert.Equal(values[LlamaTensorNames.KeyBias(1)], bias);
    }

    [Fact]
    public void Load_Qwen2CheckpointWithoutBiases_ReportsThemMissing()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), TinyConfigJson.Replace("LlamaForCausalLM", "Qwen2ForCausalLM", StringComparison.Ordinal));
        WriterForManifest(SmallConfigs.Llama(TensorDType.F32), TensorDType.F32, out _).Write(temp.File("model.safetensors"));

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains(LlamaTensorNames.QueryBias(0), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRaw_WrittenBf16Tensor_ReturnsStoredBytes()
    {
        using var temp = new TempDirectory();
        var stored = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();
        new SafetensorsWriter().AddRaw("x", TensorDType.BF16, [4, 8], stored).Write(temp.File("model.safetensors"));
        var (weights, _) = SafetensorsCheckpoint.Open(temp.Path);
        using var source = weights;

        var raw = new byte[10];
        source.ReadRaw("x", 6, raw);

        Assert.Equal(stored[6..16], raw);
    }

    [Fact]
    public void Write_MixedDTypes_AlignsHeaderAndTensors()
    {
        using var temp = new TempDirectory();
        var path = temp.File("model.safetensors");
        new SafetensorsWriter()
            .Add("half", TensorDType.F16, [3], [1f, 2f, 3f])
            .Add("full", TensorDType.F32, [2], [4f, 5f])
            .Add("brain", TensorDType.BF16, [1], [6f])
            .Write(path);

        var bytes = File.ReadAllBytes(path);
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.Equal(0, headerLength % 8);
        Assert.Contains("\"full\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", header, StringComparison.Ordinal);
        Assert.Equal(8 + headerLength + 8 + 6 + 2, bytes.Length);
        Assert.Equal(4f, BitConverter.ToSingle(bytes, 8 + (int)headerLength));
    }

    [Fact]
    public void Load_ShapeMismatch_NamesTensorAndBothShapes()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), TinyConfigJson);
        var writer = WriterForManifest(SmallConfigs.Llama(TensorDType.BF16), TensorDType.BF16, out _, skip: LlamaTensorNames.KeyWeight(1));
        writer.Add(LlamaTensorNames.KeyWeight(1), TensorDType.BF16, [32, 32], new float[32 * 32]);
        writer.Write(temp.File("model.safetensors"));

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains("model.layers.1.self_attn.k_proj.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("[32, 32]", error.Message, StringComparison.Ordinal);
        Assert.Contains("expected [16, 32]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingTensor_NamesIt()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), TinyConfigJson);
        WriterForManifest(SmallConfigs.Llama(TensorDType.BF16), TensorDType.BF16, out _, skip: LlamaTensorNames.FinalNorm).Write(temp.File("model.safetensors"));

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains("missing tensors", error.Message, StringComparison.Ordinal);
        Assert.Contains(LlamaTensorNames.FinalNorm, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NeededTensorOfUnsupportedDType_NamesTensorAndDType()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), TinyConfigJson);
        var tensors = WeightManifest.For(SmallConfigs.Llama(TensorDType.BF16))
            .Select(t => (t.Name, DType: t.Name == LlamaTensorNames.Embedding ? "I8" : "BF16", t.Shape, Bytes: t.ElementCount * (t.Name == LlamaTensorNames.Embedding ? 1 : 2)));
        WriteHandMade(temp.File("model.safetensors"), tensors);

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains(LlamaTensorNames.Embedding, error.Message, StringComparison.Ordinal);
        Assert.Contains("I8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_UnneededTensorOfUnsupportedDType_IsIgnored()
    {
        using var temp = new TempDirectory();
        WriteHandMade(temp.File("model.safetensors"), [("position_ids", "I64", [4L], 32L), ("w", "F32", [2L], 8L)]);

        var (weights, unsupported) = SafetensorsCheckpoint.Open(temp.Path);
        using var source = weights;

        Assert.True(source.Contains("w"));
        Assert.Equal("I64", Assert.Single(unsupported).DType);
    }

    [Fact]
    public void Open_TruncatedFile_ThrowsNamingTheTensor()
    {
        using var temp = new TempDirectory();
        var path = temp.File("model.safetensors");
        new SafetensorsWriter().Add("a", TensorDType.F32, [4], [1f, 2f, 3f, 4f]).Add("b", TensorDType.F32, [4], [1f, 2f, 3f, 4f]).Write(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);

        var error = Assert.Throws<ModelLoadException>(() => SafetensorsCheckpoint.Open(temp.Path));

        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        Assert.Contains("tensor b", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}")]
    [InlineData("[1, 2]")]
    public void Open_MalformedHeader_ThrowsModelLoadException(string header)
    {
        using var temp = new TempDirectory();
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(temp.File("model.safetensors"), bytes);

        var error = Assert.Throws<ModelLoadException>(() => SafetensorsCheckpoint.Open(temp.Path));

        Assert.Contains("malformed safetensors header", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_HeaderLengthBeyondFile_ThrowsModelLoadException()
    {
        using var temp = new TempDirectory();
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(temp.File("model.safetensors"), bytes);

        var error = Assert.Throws<ModelLoadException>(() => SafetensorsCheckpoint.Open(temp.Path));

        Assert.Contains("does not fit the file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_IndexNamingMissingShard_ThrowsNamingTheFile()
    {
        using var temp = new TempDirectory();
        WriteTinyModel(temp.Path, TensorDType.BF16, shards: 2);
        File.Delete(temp.File("model-00002-of-00002.safetensors"));

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains("model-00002-of-00002.safetensors", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Writes config.json and random weights of the tiny Llama; returns the float32 values written.</summary>
    private static Dictionary<string, float[]> WriteTinyModel(string directory, TensorDType dtype, int shards)
    {
        File.WriteAllText(Path.Combine(directory, "config.json"), TinyConfigJson);
        var writer = WriterForManifest(SmallConfigs.Llama(dtype), dtype, out var values);
        if (shards == 1)
        {
            writer.Write(Path.Combine(directory, "model.safetensors"));
        }
        else
        {
            writer.WriteSharded(directory, shards);
        }

        return values;
    }

    private static SafetensorsWriter WriterForManifest(ModelConfig config, TensorDType dtype, out Dictionary<string, float[]> values, string? skip = null)
    {
        var random = new Random(1234);
        var writer = new SafetensorsWriter();
        values = [];
        foreach (var tensor in WeightManifest.For(config).Where(t => t.Name != skip))
        {
            var data = Enumerable.Range(0, (int)tensor.ElementCount).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
            writer.Add(tensor.Name, dtype, tensor.Shape, data);
            values[tensor.Name] = data;
        }

        return writer;
    }

    private static float[] RoundThrough(TensorDType dtype, float[] values)
    {
        var bytes = new byte[values.Length * dtype.ByteSize()];
        var result = new float[values.Length];
        DTypeConversion.FromFloat32(values, dtype, bytes);
        DTypeConversion.ToFloat32(bytes, dtype, result);
        return result;
    }

    /// <summary>A safetensors file written without <see cref="SafetensorsWriter"/>, for dtypes it refuses to write.</summary>
    private static void WriteHandMade(string path, IEnumerable<(string Name, string DType, long[] Shape, long Bytes)> tensors)
    {
        var entries = new List<string>();
        long offset = 0;
        foreach (var (name, dtype, shape, size) in tensors)
        {
            entries.Add($"\"{name}\": {{\"dtype\": \"{dtype}\", \"shape\": [{string.Join(", ", shape)}], \"data_offsets\": [{offset}, {offset + size}]}}");
            offset += size;
        }

        var json = Encoding.UTF8.GetBytes("{" + string.Join(", ", entries) + "}");
        var bytes = new byte[8 + json.Length + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }
}
