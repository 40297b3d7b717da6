namespace Brim.Models;

/// <summary>Entry point for loading any supported model from disk.</summary>
public static class ModelLoader
{
    /// <summary>
    /// Loads a model from <paramref name="path"/>: a Hugging Face directory (config.json + model.safetensors or sharded
    /// safetensors with model.safetensors.index.json), a llama2.c checkpoint file, or a directory holding one.
    /// With <see cref="LoadFormat.Dummy"/> only the configuration is read and the weights are generated from
    /// <paramref name="dummySeed"/> (see <see cref="DummyWeights"/>). With <paramref name="progress"/>, the weights
    /// report the bytes a backend reads from them as it loads them. A quantized checkpoint (config.json's
    /// quantization_config) reads as float32 linear weights dequantized from its packed tensors; with
    /// <paramref name="quantization"/> a float checkpoint's linear weights are rounded through that format (see
    /// <see cref="LoadedModel.Quantization"/>).
    /// </summary>
    public static LoadedModel Load(
        string path, LoadFormat format = LoadFormat.Auto, int dummySeed = 0, IProgress<LoadProgress>? progress = null, WeightQuantization quantization = WeightQuantization.None)
    {
        var loaded = LoadUnreported(path, format, dummySeed);
        LoadedModel model;
        try
        {
            model = QuantizeOnLoad.Apply(loaded, quantization);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }

        if (progress is null)
        {
            return model;
        }

        // A backend that quantizes on its device reads the unrounded weights: they report the progress then.
        var quantized = model.Quantization is { Unquantized: { } floats } q
            ? q with { Unquantized = new ReportingWeightSource(floats, model.Config, progress) }
            : model.Quantization;
        return new LoadedModel(model.Config, new ReportingWeightSource(model.Weights, model.Config, progress), model.Path) { Quantization = quantized };
    }

    private static LoadedModel LoadUnreported(string path, LoadFormat format, int dummySeed)
    {
        if (File.Exists(path))
        {
            var extension = System.IO.Path.GetExtension(path);
            if (extension is ".json" or ".safetensors")
            {
                throw new ModelLoadException($"{path} is part of a Hugging Face model: pass its directory");
            }

            return LoadLlama2C(path, format, dummySeed);
        }

        if (!Directory.Exists(path))
        {
            throw new ModelLoadException($"model path not found: {path}");
        }

        if (File.Exists(System.IO.Path.Combine(path, HuggingFaceDirectory.ConfigFileName)))
        {
            return HuggingFaceDirectory.Load(path, format, dummySeed);
        }

        return LoadLlama2C(FindLlama2CCheckpoint(path), format, dummySeed);
    }

    private static LoadedModel LoadLlama2C(string file, LoadFormat format, int dummySeed)
    {
        if (format == LoadFormat.Dummy)
        {
            var config = Llama2CCheckpoint.ReadConfig(file);
            return new LoadedModel(config, new DummyWeightSource(config, dummySeed), file);
        }

        var (loadedConfig, weights) = Llama2CCheckpoint.Open(file);
        return new LoadedModel(loadedConfig, weights, file);
    }

    /// <summary>The one *.bin in a directory that is not a llama2.c tokenizer (tok*.bin).</summary>
    private static string FindLlama2CCheckpoint(string directory)
    {
        var candidates = Directory.GetFiles(directory, "*.bin")
            .Where(f => !System.IO.Path.GetFileName(f).StartsWith("tok", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToArray();
        return candidates.Length switch
        {
            1 => candidates[0],
            0 => throw new ModelLoadException(
                $"{directory} holds no model: expected {HuggingFaceDirectory.ConfigFileName} (Hugging Face) or a llama2.c checkpoint (*.bin)"),
            _ => throw new ModelLoadException(
                $"{directory} holds several llama2.c checkpoints ({string.Join(", ", candidates.Select(System.IO.Path.GetFileName))}); pass the file itself"),
        };
    }
}
