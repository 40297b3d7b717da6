using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>
/// The per-vector FP8 quantization the rope kernel does, on the host: scale = amax / 448, codes of x · (448 / amax),
/// through the project's E4M3 codec (<see cref="Fp8E4M3"/>: nearest code, ties to even, saturating, as
/// cvt.rn.satfinite does), which its own tests check against the format's definition.
/// </summary>
internal static class Fp8
{
    public static float Decode(byte code) => Fp8E4M3.ToFloat(code);

    public static (byte[] Codes, float Scale) QuantizeVector(ReadOnlySpan<float> x)
    {
        var amax = 0f;
        foreach (var v in x)
        {
            amax = MathF.Max(amax, MathF.Abs(v));
        }

        var inverse = amax > 0 ? Fp8E4M3.MaxValue / amax : 0f;
        var codes = new byte[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            codes[i] = Fp8E4M3.FromFloat(x[i] * inverse);
        }

        return (codes, amax / Fp8E4M3.MaxValue);
    }
}
