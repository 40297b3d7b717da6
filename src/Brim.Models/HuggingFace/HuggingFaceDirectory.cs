namespace Brim.Models;

/// <summary>A Hugging Face model directory: config.json (+ generation_config.json) and safetensors weights.</summary>
internal static class HuggingFaceDirectory
{
    public const string ConfigFileName = "config.json";

    public static LoadedModel Load(string directory, LoadFormat format, int dummySeed) =>
        throw new ModelLoadException($"loading Hugging Face directories ({directory}, {format}, seed {dummySeed}) is not supported yet");
}
