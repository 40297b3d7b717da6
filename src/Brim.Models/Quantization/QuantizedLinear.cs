using System.Runtime.InteropServices;

namespace Brim.Models;

/// <summary>
/// One linear layer of a quantized checkpoint as stored: which raw tensors hold its codes, scales and zero points, checked
/// against the layer's [out, in] shape. The CPU backend gets its float32 weight from <see cref="Dequantize"/>; a GPU
/// backend reads the raw tensors (<see cref="ModelQuantization.Packed"/>) and dequantizes in its kernels.
/// </summary>
public sealed record QuantizedLinear
{
    /// <summary>The float weight's name in the <see cref="WeightManifest"/> (<c>model.layers.0.self_attn.q_proj.weight</c>).</summary>
    public required string WeightName { get; init; }

    public required QuantizationScheme Scheme { get; init; }

    public required int OutFeatures { get; init; }

    public required int InFeatures { get; init; }

    /// <summary>qweight (AWQ, GPTQ) or weight (FP8).</summary>
    public required string Codes { get; init; }

    /// <summary>scales (AWQ, GPTQ: [in/group, out]) or weight_scale (FP8: one, or one per output row).</summary>
    public required string Scales { get; init; }

    /// <summary>qzeros (AWQ, GPTQ).</summary>
    public string? Zeros { get; init; }

    /// <summary>g_idx (GPTQ), when the checkpoint has it: checked to be the trivial order i / group.</summary>
    public string? GroupIndex { get; init; }

    /// <summary>input_scale (FP8 with static activation scales).</summary>
    public string? InputScale { get; init; }

    /// <summary>Inputs per group (the whole row for FP8 and group_size -1).</summary>
    public int GroupWidth => Scheme.Method == QuantizationMethod.Fp8 ? InFeatures : Scheme.GroupWidth(InFeatures);

    /// <summary>Writes the float32 weight [out, in] from the raw tensors of <paramref name="raw"/>.</summary>
    public void Dequantize(IWeightSource raw, Span<float> destination)
    {
        switch (Scheme.Method)
        {
            case QuantizationMethod.Fp8:
                var codes = new byte[(long)OutFeatures * InFeatures];
                raw.ReadRaw(Codes, 0, codes);
                Fp8Dequantizer.Dequantize(codes, ReadFloats(raw, Scales), OutFeatures, InFeatures, destination);
                break;
            case QuantizationMethod.Awq:
                AwqDequantizer.Dequantize(ReadInts(raw, Codes), ReadInts(raw, Zeros!), ReadFloats(raw, Scales), InFeatures, OutFeatures, GroupWidth, destination);
                break;
            case QuantizationMethod.Gptq:
                var zeros = ReadInts(raw, Zeros!);
                CheckSymmetricZeros(zeros);
                GptqDequantizer.Dequantize(ReadInts(raw, Codes), zeros, ReadFloats(raw, Scales), Scheme.Bits, InFeatures, OutFeatures, GroupWidth, destination);
                break;
            default:
                throw new ModelLoadException($"{WeightName}: unknown quantization method {Scheme.Method}");
        }
    }

    /// <summary>The checkpoint bytes of this layer's tensors.</summary>
    public long StoredBytes(IWeightSource raw) =>
        new[] { Codes, Scales, Zeros, GroupIndex, InputScale }.OfType<string>().Sum(name => raw.GetInfo(name).ByteCount);

    /// <summary>An int32 tensor (qweight, qzeros, g_idx) as it is stored.</summary>
    public static int[] ReadInts(IWeightSource raw, string name)
    {
        var values = new int[raw.GetInfo(name).ElementCount];
        raw.ReadRaw(name, 0, MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    private static float[] ReadFloats(IWeightSource raw, string name)
    {
        var values = new float[raw.GetInfo(name).ElementCount];
        raw.ReadAsFloat32(name, values);
        return values;
    }

    /// <summary>
    /// Symmetric GPTQ's zero point is 2^(bits-1) by definition and GPU kernels assume it without reading qzeros, so a
    /// checkpoint that stores another one would run differently there: refuse it here.
    /// </summary>
    private void CheckSymmetricZeros(int[] zeros)
    {
        var expected = 1 << (Scheme.Bits - 1);
        var groups = InFeatures / GroupWidth;
        for (var g = 0; g < groups; g++)
        {
            for (var o = 0; o < OutFeatures; o++)
            {
                var zero = GptqDequantizer.ZeroPoint(zeros, Scheme.Bits, OutFeatures, g, o);
                if (zero != expected)
                {
                    throw new ModelLoadException($"{Zeros}: zero point {zero} (group {g}, output {o}) where sym true means {expected}");
                }
            }
        }
    }
}
