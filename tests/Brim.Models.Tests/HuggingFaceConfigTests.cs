namespace Brim.Models.Tests;

public class HuggingFaceConfigTests
{
    [Fact]
    public void ReadConfig_Llama32_ParsesLlama3RopeScalingAndTiedEmbeddings()
    {
        var config = HuggingFaceDirectory.ReadConfig(TestPaths.Fixture("meta-llama__Llama-3.2-1B-Instruct"));

        Assert.Equal("LlamaForCausalLM", config.Architecture);
        Assert.Equal((2048, 8192, 16, 32, 8, 64, 128256, 131072), (config.HiddenSize, config.IntermediateSize, config.NumLayers, config.NumHeads, config.NumKvHeads, config.HeadDim, config.VocabSize, config.MaxPositions));
        Assert.Equal(500000.0, config.RopeTheta);
        Assert.Equal(new Llama3RopeScaling(32.0, 1.0, 4.0, 8192), config.RopeScaling);
        Assert.Equal(RopeStyle.RotateHalf, config.RopeStyle);
        Assert.True(config.TieWordEmbeddings);
        Assert.False(config.AttentionBias);
        Assert.Equal(1e-5f, config.RmsNormEps);
        Assert.Equal(128000, config.BosTokenId);
        Assert.Equal([128001, 128008, 128009], config.EosTokenIds);
        Assert.Equal(TensorDType.BF16, config.WeightDType);
        Assert.Equal(1_235_814_400, config.ParameterCount); // the published size of Llama-3.2-1B
    }

    [Fact]
    public void ReadConfig_Qwen25_HasQkvBiasesTiedEmbeddingsAndGenerationEos()
    {
        var config = HuggingFaceDirectory.ReadConfig(TestPaths.Fixture("Qwen__Qwen2.5-0.5B-Instruct"));

        Assert.Equal("Qwen2ForCausalLM", config.Architecture);
        Assert.Equal((896, 4864, 24, 14, 2, 64, 151936, 32768), (config.HiddenSize, config.IntermediateSize, config.NumLayers, config.NumHeads, config.NumKvHeads, config.HeadDim, config.VocabSize, config.MaxPositions));
        Assert.True(config.AttentionBias);
        Assert.False(config.AttentionOutputBias);
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal(1_000_000.0, config.RopeTheta);
        Assert.Null(config.RopeScaling);
        Assert.Equal(1e-6f, config.RmsNormEps);

        // generation_config.json lists two eos ids; config.json names one. The generation config wins.
        Assert.Equal([151645, 151643], config.EosTokenIds);
        Assert.Equal(494_032_768, config.ParameterCount); // the published size of Qwen2.5-0.5B
        Assert.Contains(WeightManifest.For(config), t => t.Name == "model.layers.23.self_attn.k_proj.bias" && t.Shape.SequenceEqual([128L]));
    }

    [Fact]
    public void ReadConfig_Mistral_NullSlidingWindowLoads()
    {
        var config = HuggingFaceDirectory.ReadConfig(TestPaths.Fixture("mistralai__Mistral-7B-Instruct-v0.3"));

        Assert.Equal("MistralForCausalLM", config.Architecture);
        Assert.Equal((4096, 14336, 32, 32, 8, 128, 32768, 32768), (config.HiddenSize, config.IntermediateSize, config.NumLayers, config.NumHeads, config.NumKvHeads, config.HeadDim, config.VocabSize, config.MaxPositions));
        Assert.False(config.TieWordEmbeddings);
        Assert.Equal(1_000_000.0, config.RopeTheta);
        Assert.Equal([2], config.EosTokenIds);
        Assert.Equal(1, config.BosTokenId);
    }

    [Fact]
    public void ReadConfig_TinyLlama_ParsesLlama2StyleConfig()
    {
        var config = HuggingFaceDirectory.ReadConfig(TestPaths.Fixture("TinyLlama__TinyLlama-1.1B-Chat-v1.0"));

        Assert.Equal((2048, 5632, 22, 32, 4, 64, 32000, 2048), (config.HiddenSize, config.IntermediateSize, config.NumLayers, config.NumHeads, config.NumKvHeads, config.HeadDim, config.VocabSize, config.MaxPositions));
        Assert.Null(config.RopeScaling);
        Assert.Equal(10000.0, config.RopeTheta);
        Assert.False(config.TieWordEmbeddings);
        Assert.Equal([2], config.EosTokenIds);
        Assert.Equal(1_100_048_384, config.ParameterCount); // the published size of TinyLlama-1.1B
    }

    [Fact]
    public void Parse_UnknownArchitecture_NamesItAndListsSupported()
    {
        var error = Assert.Throws<ModelLoadException>(() => Parse("""{"architectures": ["GPT2LMHeadModel"]}"""));

        Assert.Contains("GPT2LMHeadModel", error.Message, StringComparison.Ordinal);
        Assert.Contains("LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MistralWithShortSlidingWindow_IsRejectedAsUnsupported()
    {
        var json = Minimal("MistralForCausalLM", "\"sliding_window\": 4096, \"max_position_embeddings\": 32768");

        var error = Assert.Throws<ModelLoadException>(() => Parse(json));

        Assert.Contains("sliding_window 4096", error.Message, StringComparison.Ordinal);
        Assert.Contains("not supported yet", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Transformers5Layout_ReadsRopeParametersAndDtype()
    {
        var json = Minimal("LlamaForCausalLM", """
            "max_position_embeddings": 1024, "dtype": "float16",
            "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
            """);

        var config = Parse(json);

        Assert.Equal(500000.0, config.RopeTheta);
        Assert.Equal(new Llama3RopeScaling(8.0, 1.0, 4.0, 8192), config.RopeScaling);
        Assert.Equal(TensorDType.F16, config.WeightDType);
    }

    [Fact]
    public void Parse_LlamaAttentionBias_AddsBiasesToAllFourProjections()
    {
        var config = Parse(Minimal("LlamaForCausalLM", "\"max_position_embeddings\": 64, \"attention_bias\": true, \"head_dim\": 16"));

        Assert.True(config.AttentionBias && config.AttentionOutputBias);
        Assert.Equal(16, config.HeadDim);
        Assert.Contains(WeightManifest.For(config), t => t.Name == LlamaTensorNames.OutputBias(0));
    }

    [Theory]
    [InlineData("\"max_position_embeddings\": 64, \"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4.0}", "yarn")]
    [InlineData("\"max_position_embeddings\": 64, \"hidden_act\": \"gelu\"", "gelu")]
    [InlineData("\"max_position_embeddings\": 64, \"torch_dtype\": \"int8\"", "int8")]
    [InlineData("\"num_key_value_heads\": 3", "max_position_embeddings")]
    [InlineData("\"max_position_embeddings\": 64, \"num_key_value_heads\": 3", "multiple")]
    [InlineData("\"max_position_embeddings\": \"64\"", "max_position_embeddings")]
    public void Parse_UnsupportedOrInvalidField_ThrowsNamingIt(string fields, string expectedInMessage)
    {
        var error = Assert.Throws<ModelLoadException>(() => Parse(Minimal("LlamaForCausalLM", fields)));

        Assert.Contains(expectedInMessage, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HeadsNotDividingHiddenWithoutHeadDim_Throws()
    {
        var json = """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 5, "vocab_size": 100, "max_position_embeddings": 64}
            """;

        var error = Assert.Throws<ModelLoadException>(() => Parse(json));

        Assert.Contains("head_dim", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MalformedJson_ThrowsModelLoadException()
    {
        var error = Assert.Throws<ModelLoadException>(() => Parse("{\"architectures\": [\"LlamaForCausalLM\""));

        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DirectoryWithConfigButNoWeights_ThrowsSuggestingDummy()
    {
        using var temp = new TempDirectory();
        File.Copy(Path.Combine(TestPaths.Fixture("TinyLlama__TinyLlama-1.1B-Chat-v1.0"), "config.json"), temp.File("config.json"));

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains("model.safetensors", error.Message, StringComparison.Ordinal);
        Assert.Contains("Dummy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PathToConfigFile_AsksForTheDirectory()
    {
        var path = Path.Combine(TestPaths.Fixture("TinyLlama__TinyLlama-1.1B-Chat-v1.0"), "config.json");

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(path));

        Assert.Contains("pass its directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DirectoryWithoutConfigOrCheckpoint_Throws()
    {
        using var temp = new TempDirectory();

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
    }

    private static ModelConfig Parse(string json) => HuggingFaceConfig.Parse(json, null, "test");

    private static string Minimal(string architecture, string extraFields) => $$"""
        {"architectures": ["{{architecture}}"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
         "num_attention_heads": 4, "vocab_size": 100, {{extraFields}}}
        """;
}
