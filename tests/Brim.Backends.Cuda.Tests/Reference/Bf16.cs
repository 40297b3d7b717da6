using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>bf16 on the host: rounding (to mirror what the device stores) and conversion of arrays.</summary>
internal static class Bf16
{
    public static ushort ToBits(float value) => DTypeConversion.ToBFloat16Bits(value);

    public static float FromBits(ushort bits) => DTypeConversion.BFloat16BitsToFloat32(bits);

    /// <summary>The value bf16 storage would keep.</summary>
    public static float Round(float value) => FromBits(ToBits(value));

    public static ushort[] ToBits(ReadOnlySpan<float> values)
    {
        var bits = new ushort[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            bits[i] = ToBits(values[i]);
        }

        return bits;
    }

    public static float[] FromBits(ReadOnlySpan<ushort> bits)
    {
        var values = new float[bits.Length];
        for (var i = 0; i < bits.Length; i++)
        {
            values[i] = FromBits(bits[i]);
        }

        return values;
    }

    /// <summary>Random values in [-scale, scale) already rounded to bf16, so host and device start from the same numbers.</summary>
    public static float[] Random(Random random, int count, float scale = 1f)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = Round(((random.NextSingle() * 2f) - 1f) * scale);
        }

        return values;
    }
}
