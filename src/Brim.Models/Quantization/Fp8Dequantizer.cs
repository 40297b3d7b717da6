namespace Brim.Models;

/// <summary>
/// The reference math of FP8 checkpoints: weight [out, in] E4M3 codes and a float32 weight_scale that is one value
/// (per tensor) or one per output row (per channel). w[o, i] = e4m3(code[o, i]) × scale[o or 0].
/// </summary>
public static class Fp8Dequantizer
{
    /// <summary>Writes the float32 weight [out, in]; <paramref name="scales"/> holds 1 or <paramref name="outFeatures"/> values.</summary>
    public static void Dequantize(ReadOnlySpan<byte> codes, ReadOnlySpan<float> scales, int outFeatures, int inFeatures, Span<float> destination)
    {
        if (codes.Length != outFeatures * inFeatures || destination.Length != codes.Length || (scales.Length != 1 && scales.Length != outFeatures))
        {
            throw new ArgumentException($"fp8: {codes.Length} codes and {scales.Length} scales do not make a [{outFeatures}, {inFeatures}] weight");
        }

        for (var o = 0; o < outFeatures; o++)
        {
            var scale = scales[scales.Length == 1 ? 0 : o];
            for (var i = 0; i < inFeatures; i++)
            {
                destination[(o * inFeatures) + i] = Fp8E4M3.ToFloat(codes[(o * inFeatures) + i]) * scale;
            }
        }
    }
}
