namespace Brim.Models;

/// <summary>
/// FP8 E4M3 as PyTorch's float8_e4m3fn stores it: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, only
/// S.1111.111 is NaN, so the largest finite value is 448. Every code is exact in float32, so decoding is a table.
/// </summary>
public static class Fp8E4M3
{
    /// <summary>The largest finite magnitude.</summary>
    public const float MaxValue = 448f;

    private static readonly float[] Decoded = BuildTable();

    /// <summary>The value of one code.</summary>
    public static float ToFloat(byte code) => Decoded[code];

    /// <summary>Rounds to the nearest code (ties to the even code), saturating at ±448, as a cast to float8_e4m3fn with saturation.</summary>
    public static byte FromFloat(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7F;
        }

        var sign = value < 0 || (value == 0 && float.IsNegative(value)) ? (byte)0x80 : (byte)0;
        var magnitude = Math.Min(Math.Abs(value), MaxValue);

        // Codes 0..126 are the finite non-negative values in increasing order: find the first at or above the magnitude.
        int low = 0, high = 126;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (Decoded[mid] < magnitude)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        var code = low;
        if (code > 0)
        {
            var below = magnitude - Decoded[code - 1];
            var above = Decoded[code] - magnitude;
            if (below < above || (below == above && (code - 1) % 2 == 0))
            {
                code--;
            }
        }

        return (byte)(sign | code);
    }

    private static float[] BuildTable()
    {
        var table = new float[256];
        for (var code = 0; code < 256; code++)
        {
            var exponent = (code >> 3) & 0xF;
            var mantissa = code & 0x7;
            float magnitude = exponent == 0
                ? MathF.ScaleB(mantissa / 8f, -6)
                : MathF.ScaleB(1 + (mantissa / 8f), exponent - 7);
            if (exponent == 0xF && mantissa == 0x7)
            {
                magnitude = float.NaN;
            }

            table[code] = (code & 0x80) != 0 ? -magnitude : magnitude;
        }

        return table;
    }
}
