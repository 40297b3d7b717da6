namespace Brim.Models;

/// <summary>
/// The number format of a model's linear weights as the backends see it: what <c>--quantization</c> asks for on load, and
/// what a quantized checkpoint stores (AWQ and GPTQ 4-bit are int4, GPTQ 8-bit int8, FP8 checkpoints fp8).
/// </summary>
public enum WeightQuantization
{
    /// <summary>The checkpoint's own float weights.</summary>
    None,

    /// <summary>FP8 E4M3 with a float32 scale per output channel.</summary>
    Fp8,

    /// <summary>Symmetric int8 with a float32 scale per output channel.</summary>
    Int8,

    /// <summary>Asymmetric int4 (scale and zero point) per group of 128 inputs, as AWQ stores it.</summary>
    Int4,
}

/// <summary>Names of <see cref="WeightQuantization"/> as the command line and logs spell them.</summary>
public static class WeightQuantizations
{
    public static string Name(this WeightQuantization quantization) => quantization.ToString().ToLowerInvariant();
}
