namespace Brim.Models;

/// <summary>How weights are obtained.</summary>
public enum LoadFormat
{
    /// <summary>Detect from the files present (config.json + safetensors, or a llama2.c checkpoint).</summary>
    Auto,

    /// <summary>config.json alone; weights are seeded random values of the right shapes (benchmarks of real shapes).</summary>
    Dummy,
}

/// <summary>A model's configuration and its weights, ready for a backend.</summary>
public sealed class LoadedModel(ModelConfig config, IWeightSource weights, string path) : IDisposable
{
    public ModelConfig Config { get; } = config;

    public IWeightSource Weights { get; } = weights;

    /// <summary>The file or directory the model came from.</summary>
    public string Path { get; } = path;

    /// <summary>How the linear weights are quantized (a quantized checkpoint, or <c>--quantization</c>); null: as stored, in float.</summary>
    public ModelQuantization? Quantization { get; init; }

    public void Dispose() => Weights.Dispose();
}
