namespace Brim.Models;

/// <summary>Entry point for loading any supported model from disk.</summary>
public static class ModelLoader
{
    /// <summary>
    /// Loads a model from <paramref name="path"/>: a Hugging Face directory (config.json + model.safetensors or sharded
    /// safetensors with model.safetensors.index.json), a llama2.c checkpoint file, or a directory holding one.
    /// </summary>
    public static LoadedModel Load(string path, LoadFormat format = LoadFormat.Auto, int dummySeed = 0)
    {
        throw new NotImplementedException($"loading {path} ({format}, seed {dummySeed}) is being built");
    }
}
