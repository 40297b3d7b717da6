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
        if (format == LoadFormat.Dummy)
        {
            return new LoadedModel(config, new DummyWeightSource(config, dummySeed), directory);
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

            WeightManifest.Validate(config, weights, directory);
            return new LoadedModel(config with { WeightDType = StoredDType(config, weights) }, weights, directory);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>What the files hold wins over config.json's torch_dtype when every needed tensor agrees.</summary>
    private static TensorDType StoredDType(ModelConfig config, IWeightSource weights)
    {
        var stored = WeightManifest.For(config).Select(t => weights.GetInfo(t.Name).DType).Distinct().ToArray();
        return stored.Length == 1 ? stored[0] : config.WeightDType;
    }
}
