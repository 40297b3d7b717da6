namespace Brim.Models;

/// <summary>
/// How a loaded model's linear weights are quantized: from the checkpoint (<see cref="Scheme"/>, the layers as stored,
/// the raw tensors) or on load (<c>--quantization</c>). Backends that cannot run the format refuse the model by it.
/// </summary>
public sealed record ModelQuantization
{
    public required WeightQuantization Kind { get; init; }

    /// <summary>The checkpoint's scheme; null when the weights were quantized on load.</summary>
    public QuantizationScheme? Scheme { get; init; }

    /// <summary>Bytes of the model's weights in the quantized format: as the checkpoint stores them, or as the format would.</summary>
    public required long StoredBytes { get; init; }

    /// <summary>The checkpoint's quantized layers (empty when quantized on load).</summary>
    public IReadOnlyList<QuantizedLinear> Linears { get; init; } = [];

    /// <summary>The checkpoint's raw tensors (qweight, scales, ...); null when quantized on load.</summary>
    public IWeightSource? Packed { get; init; }

    /// <summary>
    /// Quantized on load: the float weights before rounding (with their dummy seed, if any), for a backend that quantizes
    /// on its own device; null for a quantized checkpoint.
    /// </summary>
    public IWeightSource? Unquantized { get; init; }

    /// <summary>For logs: "awq int4 g128" or "int4 g128, quantized on load".</summary>
    public required string Description { get; init; }
}
