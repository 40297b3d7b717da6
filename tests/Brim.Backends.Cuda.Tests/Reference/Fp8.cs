namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>
/// FP8 E4M3 (OCP: 4 exponent bits, bias 7, 3 mantissa bits, no infinities, 0x7f/0xff NaN, largest finite 448) on the
/// host, written from the format's definition so the device's cvt and bit tricks are checked against something
/// independent: decode by formula, encode as the nearest code with ties to the even code, saturating at ±448 as
/// cvt.rn.satfinite does.
/// </summary>
internal static class Fp8
{
    public const float Max = 448f;

    // The 127 finite non-negative codes 0x00..0x7e in increasing order of value.
    private static readonly float[] Magnitudes = Enumerable.Range(0, 0x7f).Select(c => DecodeMagnitude((byte)c)).ToArray();

    public static float Decode(byte code)
    {
        if ((code & 0x7f) == 0x7f)
        {
            return float.NaN;
        }

        var magnitude = DecodeMagnitude((byte)(code & 0x7f));
        return (code & 0x80) != 0 ? -magnitude : magnitude;
    }

    public static byte Encode(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7f;
        }

        var sign = value < 0 || (value == 0 && float.IsNegative(value)) ? (byte)0x80 : (byte)0;
        var a = MathF.Abs(value);
        if (a >= Max)
        {
            return (byte)(sign | 0x7e);
        }

        // The first code whose value is >= a; then the nearer of it and the one below, ties to the even code.
        var hi = Array.BinarySearch(Magnitudes, a);
        if (hi >= 0)
        {
            return (byte)(sign | hi);
        }

        hi = ~hi;
        var lo = hi - 1;
        var below = a - Magnitudes[lo];
        var above = Magnitudes[hi] - a;
        var code = below < above ? lo : above < below ? hi : (lo % 2 == 0 ? lo : hi);
        return (byte)(sign | code);
    }

    /// <summary>
    /// Quantizes one (token, KV head) vector as the rope kernel does: scale = amax / 448, codes of x · (448 / amax).
    /// </summary>
    public static (byte[] Codes, float Scale) QuantizeVector(ReadOnlySpan<float> x)
    {
        var amax = 0f;
        foreach (var v in x)
        {
            amax = MathF.Max(amax, MathF.Abs(v));
        }

        var inverse = amax > 0 ? Max / amax : 0f;
        var codes = new byte[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            codes[i] = Encode(x[i] * inverse);
        }

        return (codes, amax / Max);
    }

    private static float DecodeMagnitude(byte code)
    {
        int exponent = code >> 3, mantissa = code & 7;
        return exponent == 0 ? mantissa / 8f * MathF.Pow(2, -6) : (1 + (mantissa / 8f)) * MathF.Pow(2, exponent - 7);
    }
}
