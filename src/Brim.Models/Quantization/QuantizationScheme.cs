namespace Brim.Models;

/// <summary>The quantized checkpoint formats Brim reads (config.json's quantization_config.quant_method).</summary>
public enum QuantizationMethod
{
    /// <summary><c>fp8</c>, or <c>compressed-tensors</c> with format <c>float-quantized</c>: E4M3 weights and float32 scales.</summary>
    Fp8,

    /// <summary><c>awq</c>, GEMM layout: 4-bit codes packed along the output dimension in AWQ's interleaved order.</summary>
    Awq,

    /// <summary><c>gptq</c> with desc_act false: 4- or 8-bit codes packed along the input dimension.</summary>
    Gptq,
}

/// <summary>
/// What a checkpoint's quantization_config says about its linear weights, checked: every field Brim reads has a value it
/// supports (<see cref="QuantizationConfigReader"/> refuses the rest by name).
/// </summary>
public sealed record QuantizationScheme
{
    public required QuantizationMethod Method { get; init; }

    /// <summary>quant_method as config.json spells it (fp8, compressed-tensors, awq, gptq).</summary>
    public required string QuantMethod { get; init; }

    /// <summary>Bits per weight code: 8 for FP8, 4 for AWQ, 4 or 8 for GPTQ.</summary>
    public required int Bits { get; init; }

    /// <summary>Inputs sharing one scale (AWQ/GPTQ); -1 means one group for the whole input row. 0 for FP8.</summary>
    public int GroupSize { get; init; }

    /// <summary>FP8: how activations are scaled, "dynamic" (per token, computed at run time) or "static" (input_scale tensors).</summary>
    public string? ActivationScheme { get; init; }

    /// <summary>The format the backends see.</summary>
    public WeightQuantization Kind => Method == QuantizationMethod.Fp8 ? WeightQuantization.Fp8 : Bits == 8 ? WeightQuantization.Int8 : WeightQuantization.Int4;

    /// <summary>For logs: "awq int4 g128", "fp8 e4m3 (dynamic activations)".</summary>
    public string Description => Method == QuantizationMethod.Fp8
        ? $"{QuantMethod} e4m3 ({ActivationScheme} activations)"
        : $"{QuantMethod} {Kind.Name()} {(GroupSize > 0 ? $"g{GroupSize}" : "per-row")}";

    /// <summary>The input width of one group of a layer with <paramref name="inFeatures"/> inputs.</summary>
    public int GroupWidth(int inFeatures) => GroupSize > 0 ? GroupSize : inFeatures;
}
