using Brim.Tests;

namespace Brim.Models.Tests;

/// <summary>Quantized checkpoints written to disk in each format, loaded through <see cref="ModelLoader"/>.</summary>
public class QuantizedCheckpointLoadTests
{
    [Theory]
    [InlineData(PackedFormat.Awq, WeightQuantization.Int4, QuantizationMethod.Awq)]
    [InlineData(PackedFormat.Gptq4, WeightQuantization.Int4, QuantizationMethod.Gptq)]
    [InlineData(PackedFormat.Gptq8, WeightQuantization.Int8, QuantizationMethod.Gptq)]
    [InlineData(PackedFormat.Fp8PerTensor, WeightQuantization.Fp8, QuantizationMethod.Fp8)]
    [InlineData(PackedFormat.CompressedTensorsPerChannel, WeightQuantization.Fp8, QuantizationMethod.Fp8)]
    public void Load_PackedCheckpoint_EveryWeightEqualsReferenceExactly(PackedFormat format, WeightQuantization kind, QuantizationMethod method)
    {
        using var temp = new TempDirectory();
        var expected = QuantizedCheckpoints.Write(temp.Path, format);

        using var model = ModelLoader.Load(temp.Path);

        var quantization = Assert.IsType<ModelQuantization>(model.Quantization);
        Assert.Equal(kind, quantization.Kind);
        Assert.Equal(method, quantization.Scheme!.Method);
        Assert.Equal(QuantizedCheckpoints.Config.NumLayers * 7, quantization.Linears.Count);
        Assert.InRange(quantization.StoredBytes, 1, QuantizedCheckpoints.Config.ParameterCount * 2 - 1);
        foreach (var tensor in WeightManifest.For(model.Config))
        {
            var actual = new float[tensor.ElementCount];
            model.Weights.ReadAsFloat32(tensor.Name, actual);
            Assert.True(expected[tensor.Name].AsSpan().SequenceEqual(actual), $"{tensor.Name} differs from the reference");
        }
    }

    [Fact]
    public void Load_Fp8Checkpoint_RecordsActivationScheme()
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Fp8PerTensor);

        using var model = ModelLoader.Load(temp.Path);

        Assert.Equal("dynamic", model.Quantization!.Scheme!.ActivationScheme);
        Assert.Equal("fp8 e4m3 (dynamic activations)", model.Quantization.Description);
    }

    [Fact]
    public void Load_AwqCheckpoint_KeepsPackedTensorsForOtherBackends()
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Awq);

        using var model = ModelLoader.Load(temp.Path);

        var q = model.Quantization!;
        var layer = q.Linears.Single(l => l.WeightName == LlamaTensorNames.DownWeight(1));
        Assert.Equal(("model.layers.1.mlp.down_proj.qweight", 32, 64, 16), (layer.Codes, layer.OutFeatures, layer.InFeatures, layer.GroupWidth));
        Assert.Equal(TensorDType.I32, q.Packed!.GetInfo(layer.Codes).DType);
        Assert.Equal(TensorDType.F32, model.Weights.GetInfo(layer.WeightName).DType);
        Assert.False(model.Weights.Contains(layer.Codes));
    }

    [Theory]
    [InlineData("""{"quant_method": "gptq", "bits": 4, "group_size": 16, "desc_act": true, "sym": true}""", "quantization_config.desc_act true")]
    [InlineData("""{"quant_method": "gptq", "bits": 3, "group_size": 16, "desc_act": false, "sym": true}""", "quantization_config.bits 3")]
    [InlineData("""{"quant_method": "bitsandbytes", "load_in_4bit": true}""", "quantization_config.quant_method 'bitsandbytes' is not supported")]
    [InlineData("""{"quant_method": "awq", "version": "gemv", "bits": 4, "group_size": 16, "zero_point": true}""", "quantization_config.version 'gemv'")]
    [InlineData("""{"quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}""", "quantization_config.weight_block_size")]
    [InlineData("""{"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {}}""", "quantization_config.format 'pack-quantized'")]
    public void Load_UnsupportedQuantizationConfig_RefusesNamingFieldAndValue(string quantizationConfig, string expected)
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Gptq4, quantizationConfig: quantizationConfig);

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("Brim loads fp8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_AwqLayerWithoutScales_NamesTheMissingTensor()
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Awq, omit: "model.layers.1.self_attn.k_proj.scales");

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains("missing tensor model.layers.1.self_attn.k_proj.scales", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PackedFormat.Awq)]
    [InlineData(PackedFormat.Gptq4)]
    public void Load_GroupSizeMinusOne_OneGroupPerRowEqualsReference(PackedFormat format)
    {
        using var temp = new TempDirectory();
        var expected = QuantizedCheckpoints.Write(temp.Path, format, groupSize: -1);

        using var model = ModelLoader.Load(temp.Path);

        var down = LlamaTensorNames.DownWeight(0);
        var actual = new float[expected[down].Length];
        model.Weights.ReadAsFloat32(down, actual);
        Assert.Equal(expected[down], actual);
        Assert.Equal(64, model.Quantization!.Linears.Single(l => l.WeightName == down).GroupWidth);
    }

    [Fact]
    public void Load_GptqReorderedGIdx_RefusesAsActOrder()
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Gptq4, tamper: (name, words) => name.EndsWith(".g_idx", StringComparison.Ordinal) ? [.. words.Reverse()] : words);

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains("g_idx[0]", error.Message, StringComparison.Ordinal);
        Assert.Contains("act-order", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadAsFloat32_GptqZerosOtherThanSymmetric_RefusesNamingQzeros()
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Gptq4, tamper: (name, words) => name.EndsWith(".qzeros", StringComparison.Ordinal) ? new int[words.Length] : words);
        using var model = ModelLoader.Load(temp.Path);

        var error = Assert.Throws<ModelLoadException>(() => model.Weights.ReadAsFloat32(LlamaTensorNames.QueryWeight(0), new float[32 * 32]));

        Assert.Contains("model.layers.0.self_attn.q_proj.qzeros: zero point 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_QuantizedCheckpointWithOtherQuantization_RefusesNamingBoth()
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Awq);

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path, quantization: WeightQuantization.Int8));

        Assert.Contains("already quantized (awq int4 g16)", error.Message, StringComparison.Ordinal);
        Assert.Contains("--quantization int8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_QuantizedCheckpointWithItsOwnQuantization_Loads()
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Fp8PerTensor);

        using var model = ModelLoader.Load(temp.Path, quantization: WeightQuantization.Fp8);

        Assert.NotNull(model.Quantization!.Scheme);
    }

    [Fact]
    public void Load_Fp8WeightsWithoutQuantizationConfig_RefusesNamingTensorAndDType()
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, PackedFormat.Fp8PerTensor);
        File.WriteAllText(temp.File("config.json"), QuantizedCheckpoints.ConfigJson(null));

        var error = Assert.Throws<ModelLoadException>(() => ModelLoader.Load(temp.Path));

        Assert.Contains("F8_E4M3", error.Message, StringComparison.Ordinal);
        Assert.Contains("quantization_config", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DummyWeightsOfQuantizedConfig_RoundThroughItsFormat()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), QuantizedCheckpoints.ConfigJson(QuantizedCheckpoints.QuantizationConfig(PackedFormat.Gptq8)));

        using var model = ModelLoader.Load(temp.Path, LoadFormat.Dummy);

        Assert.Equal(WeightQuantization.Int8, model.Quantization!.Kind);
        Assert.Null(model.Quantization.Scheme);
    }
}
