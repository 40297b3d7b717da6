namespace Brim.Models;

/// <summary>
/// Quantize-on-load math (<c>--quantization</c>): rounds a float32 linear weight [out, in] to the format and back in
/// place, so a backend that computes in float32 (the CPU) runs exactly the values the format can hold and shows its
/// accuracy cost. fp8: E4M3 with a scale per output row (absmax ↦ 448); int8: symmetric, a scale per output row
/// (absmax ↦ 127); int4: asymmetric per group of <see cref="Int4GroupSize"/> inputs, AWQ's math (scale = (max - min) / 15,
/// zero = round(-min / scale)), with one group per row where 128 does not divide the input width (AWQ's group_size -1).
/// Scales stay float32 (a checkpoint would round them to f16; this is a reference, not a packer).
/// </summary>
public static class WeightQuantizer
{
    public const int Int4GroupSize = 128;

    /// <summary>Inputs per int4 group for a layer with <paramref name="inFeatures"/> inputs.</summary>
    public static int Int4Group(int inFeatures) => inFeatures % Int4GroupSize == 0 ? Int4GroupSize : inFeatures;

    public static void RoundTrip(WeightQuantization kind, Span<float> weight, int outFeatures, int inFeatures)
    {
        if (weight.Length != (long)outFeatures * inFeatures)
        {
            throw new ArgumentException($"{weight.Length} values are not a [{outFeatures}, {inFeatures}] weight", nameof(weight));
        }

        for (var o = 0; o < outFeatures; o++)
        {
            var row = weight.Slice(o * inFeatures, inFeatures);
            switch (kind)
            {
                case WeightQuantization.Fp8:
                    RoundTripFp8(row);
                    break;
                case WeightQuantization.Int8:
                    RoundTripInt8(row);
                    break;
                case WeightQuantization.Int4:
                    var group = Int4Group(inFeatures);
                    for (var start = 0; start < inFeatures; start += group)
                    {
                        RoundTripInt4(row.Slice(start, group));
                    }

                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a quantized format");
            }
        }
    }

    /// <summary>Bytes the format stores for a [out, in] weight: codes plus float32 row scales, or int4 codes plus an f16 scale and a 4-bit zero per group.</summary>
    public static long StoredBytes(WeightQuantization kind, long outFeatures, long inFeatures) => kind switch
    {
        WeightQuantization.Fp8 or WeightQuantization.Int8 => (outFeatures * inFeatures) + (outFeatures * sizeof(float)),
        WeightQuantization.Int4 => (outFeatures * inFeatures / 2) + (outFeatures * (inFeatures / Int4Group((int)inFeatures)) * 5 / 2),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a quantized format"),
    };

    private static void RoundTripFp8(Span<float> row)
    {
        var scale = AbsMax(row) / Fp8E4M3.MaxValue;
        if (scale == 0)
        {
            return;
        }

        for (var i = 0; i < row.Length; i++)
        {
            row[i] = Fp8E4M3.ToFloat(Fp8E4M3.FromFloat(row[i] / scale)) * scale;
        }
    }

    private static void RoundTripInt8(Span<float> row)
    {
        var scale = AbsMax(row) / 127f;
        if (scale == 0)
        {
            return;
        }

        for (var i = 0; i < row.Length; i++)
        {
            row[i] = Math.Clamp(MathF.Round(row[i] / scale), -127f, 127f) * scale;
        }
    }

    private static void RoundTripInt4(Span<float> group)
    {
        float min = float.MaxValue, max = float.MinValue;
        foreach (var value in group)
        {
            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }

        // AWQ clamps the range so that a constant group still gets a usable scale.
        var scale = Math.Max(max - min, 1e-5f) / 15f;
        var zero = Math.Clamp(-MathF.Round(min / scale), 0f, 15f);
        for (var i = 0; i < group.Length; i++)
        {
            var q = Math.Clamp(MathF.Round(group[i] / scale) + zero, 0f, 15f);
            group[i] = (q - zero) * scale;
        }
    }

    private static float AbsMax(ReadOnlySpan<float> values)
    {
        var max = 0f;
        foreach (var value in values)
        {
            max = Math.Max(max, Math.Abs(value));
        }

        return max;
    }
}
