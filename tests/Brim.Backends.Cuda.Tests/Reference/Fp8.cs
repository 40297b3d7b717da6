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

    /// <summary>
    /// The per-token activation quantization of a W8A8 product (quantize_tokens_fp8), on the host: each row's scale is
    /// amax / 448 and its codes those of x / scale (the division, not a multiplication by 448 / amax: the arithmetic of
    /// the weights' quantize-on-load, so device and host agree bit for bit); an all-zero row has scale 0 and zero codes.
    /// </summary>
    public static (byte[] Codes, float[] Scales) QuantizeTokens(ReadOnlySpan<float> x, int rows, int width)
    {
        var codes = new byte[rows * width];
        var scales = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            var row = x.Slice(r * width, width);
            var amax = 0f;
            foreach (var v in row)
            {
                amax = MathF.Max(amax, MathF.Abs(v));
            }

            var scale = amax / Fp8E4M3.MaxValue;
            scales[r] = scale;
            for (var i = 0; i < width && scale != 0; i++)
            {
                codes[(r * width) + i] = Fp8E4M3.FromFloat(row[i] / scale);
            }
        }

        return (codes, scales);
    }
}
