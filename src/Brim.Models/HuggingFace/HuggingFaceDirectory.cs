namespace Brim.Models;

/// <summary>A Hugging Face model directory: config.json (+ generation_config.json) and safetensors weights.</summary>
internal static class HuggingFaceDirectory
{
    public const string ConfigFileName = "config.json";
    public const string GenerationConfigFileName = "generation_config.json";

    public static ModelConfig ReadConfig(string directory)
    {
        var configPath = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(configPath))
        {
            throw new ModelLoadException($"{directory} has no {ConfigFileName}");
        }

        var generationPath = Path.Combine(directory, GenerationConfigFileName);
        var generation = File.Exists(generationPath) ? File.ReadAllText(generationPath) : null;
        return HuggingFaceConfig.Parse(File.ReadAllText(configPath), generation, directory);
    }

    public static LoadedModel Load(string directory, LoadFormat format, int dummySeed)
    {
        var config = ReadConfig(directory);
        var scheme = HuggingFaceConfig.ParseQuantization(File.ReadAllText(Path.Combine(directory, ConfigFileName)), directory);
        if (format == LoadFormat.Dummy)
        {
            var dummy = new LoadedModel(config, new DummyWeightSource(config, dummySeed), directory);

            // Random codes would not be a checkpoint anyone packed: dummy weights of a quantized config get the same
            // format's values through the on-load rounding instead.
            return scheme is null ? dummy : QuantizeOnLoad.Apply(dummy, scheme.Kind);
        }

        if (!SafetensorsCheckpoint.IsPresent(directory))
        {
            throw new ModelLoadException(
                $"{directory} has no weights ({SafetensorsCheckpoint.SingleFileName} or {SafetensorsCheckpoint.IndexFileName}); " +
                "load with LoadFormat.Dummy for random weights of this config");
        }

        var (weights, unsupported) = SafetensorsCheckpoint.Open(directory);
        try
        {
            var needed = WeightManifest.For(config).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var tensor in unsupported.Where(u => needed.Contains(u.Name)))
            {
                throw new ModelLoadException($"{tensor.File}: tensor {tensor.Name} has dtype {tensor.DType}; supported: F32, F16, BF16");
            }

            if (scheme is null)
            {
                WeightManifest.Validate(config, weights, directory);
                CheckFloat(config, weights, directory);
                return new LoadedModel(config with { WeightDType = StoredDType(config, weights) }, weights, directory);
            }

            var linears = QuantizedLayout.Find(weights, config, scheme, directory);
            var quantized = new QuantizedWeightSource(weights, linears);
            WeightManifest.Validate(config, quantized, directory);
            CheckFloat(config, quantized, directory);
            var byName = linears.ToDictionary(l => l.WeightName, StringComparer.Ordinal);
            var storedBytes = WeightManifest.For(config).Sum(t => byName.TryGetValue(t.Name, out var l) ? l.StoredBytes(weights) : weights.GetInfo(t.Name).ByteCount);
            return new LoadedModel(config with { WeightDType = StoredDType(config, quantized) }, quantized, directory)
            {
                Quantization = new ModelQuantization { Kind = scheme.Kind, Scheme = scheme, Description = scheme.Description, StoredBytes = storedBytes, Linears = linears, Packed = weights },
            };
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>A packed tensor (I32, F8_E4M3) where a float one is needed means nothing without a quantization_config that says how to read it.</summary>
    private static void CheckFloat(ModelConfig config, IWeightSource weights, string directory)
    {
        foreach (var tensor in WeightManifest.For(config).Select(t => weights.GetInfo(t.Name)).Where(t => !t.DType.IsFloat()))
        {
            throw new ModelLoadException(
                $"{directory}: tensor {tensor.Name} has dtype {tensor.DType.SafetensorsName()}, which config.json's quantization_config does not explain; supported: F32, F16, BF16");
        }
    }

    /// <summary>What the files hold wins over config.json's torch_dtype when every needed tensor agrees.</summary>
    private static TensorDType StoredDType(ModelConfig config, IWeightSource weights)
    {
        var stored = WeightManifest.For(config).Select(t => weights.GetInfo(t.Name).DType).Distinct().ToArray();
        return stored.Length == 1 ? stored[0] : config.WeightDType;
    }
}
