using Brim.Models;

namespace Brim.Backends.Cuda.Weights;

/// <summary>How a linear layer's weight is held on the device: bf16, or one of the layouts of <c>Kernels/quant.cuh</c>.</summary>
internal enum WeightFormat
{
    Bf16 = 0,

    /// <summary>E4M3 codes [out][in], a float scale per row.</summary>
    Fp8 = 1,

    /// <summary>int8 codes [out][in], a float scale per (row, group).</summary>
    Int8 = 2,

    /// <summary>int4 codes, eight inputs a word in the interleaved nibble order, a half2 (scale, -zero·scale) per (row, group).</summary>
    Int4 = 3,
}

/// <summary>
/// Device address and layout of one linear weight [out, in]: <see cref="Codes"/> is the bf16 matrix itself when
/// <see cref="Format"/> is <see cref="WeightFormat.Bf16"/>, else the codes, with <see cref="Scales"/> beside them.
/// </summary>
internal readonly record struct LinearWeight(ulong Codes, ulong Scales, WeightFormat Format, int GroupWidth)
{
    public static LinearWeight Bf16(ulong matrix) => new(matrix, 0, WeightFormat.Bf16, 0);

    public bool IsQuantized => Format != WeightFormat.Bf16;

    /// <summary>
    /// The arguments every quantized linear kernel starts with: codes, scales, activations and output (each launcher
    /// adds its own after them).
    /// </summary>
    public Interop.KernelArguments KernelArguments(ulong x, ulong y)
    {
        var a = default(Interop.KernelArguments);
        a.Add(Codes);
        a.Add(Scales);
        a.Add(x);
        a.Add(y);
        return a;
    }

    /// <summary>Inputs per 16-byte chunk of codes: groups must be whole chunks.</summary>
    public static int InputsPerChunk(WeightFormat format) => format == WeightFormat.Int4 ? 32 : 16;

    public static WeightFormat FormatOf(WeightQuantization quantization) => quantization switch
    {
        WeightQuantization.None => WeightFormat.Bf16,
        WeightQuantization.Fp8 => WeightFormat.Fp8,
        WeightQuantization.Int8 => WeightFormat.Int8,
        WeightQuantization.Int4 => WeightFormat.Int4,
        _ => throw new ArgumentOutOfRangeException(nameof(quantization), quantization, null),
    };

    /// <summary>Bytes of the codes of a [rows, inFeatures] weight.</summary>
    public static long CodeBytes(WeightFormat format, long rows, long inFeatures) => format switch
    {
        WeightFormat.Bf16 => rows * inFeatures * 2,
        WeightFormat.Fp8 or WeightFormat.Int8 => rows * inFeatures,
        WeightFormat.Int4 => rows * inFeatures / 2,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary>Bytes of the scales of a [rows, inFeatures] weight with <paramref name="groupWidth"/> inputs a group.</summary>
    public static long ScaleBytes(WeightFormat format, long rows, long inFeatures, int groupWidth) => format switch
    {
        WeightFormat.Bf16 => 0,
        WeightFormat.Fp8 => rows * sizeof(float),
        WeightFormat.Int8 or WeightFormat.Int4 => rows * (inFeatures / groupWidth) * sizeof(float),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary>
    /// Why a [out, in] weight with groups of <paramref name="groupWidth"/> inputs cannot take <paramref name="format"/>
    /// on the device, or null: rows of whole 16-byte chunks, groups of whole chunks (fp8 scales are per row).
    /// </summary>
    public static string? Unsupported(WeightFormat format, long inFeatures, int groupWidth)
    {
        if (format == WeightFormat.Bf16)
        {
            return null;
        }

        var chunk = InputsPerChunk(format);
        if (inFeatures % chunk != 0)
        {
            return $"{format.ToString().ToLowerInvariant()} weights on CUDA need input widths that are multiples of {chunk}, got {inFeatures}";
        }

        if (format != WeightFormat.Fp8 && (groupWidth % chunk != 0 || inFeatures % groupWidth != 0))
        {
            return $"{format.ToString().ToLowerInvariant()} weights on CUDA need groups of a multiple of {chunk} inputs that divide the row, got group {groupWidth} for {inFeatures} inputs";
        }

        return null;
    }
}
