namespace Brim.Models;

/// <summary>
/// The reference math of GPTQ checkpoints (desc_act false): qweight [in × bits/32, out] packs 32/bits codes of
/// consecutive inputs into one int32, lowest bits first; qzeros [in/group, out × bits/32] packs zero points of
/// consecutive outputs the same way, each stored minus one (GPTQ's v1 format); scales [in/group, out].
/// w[o, i] = (q[i, o] - (z[i/group, o] + 1)) × s[i/group, o].
/// </summary>
public static class GptqDequantizer
{
    /// <summary>Writes the float32 weight [out, in] (row-major, as a Hugging Face linear weight).</summary>
    public static void Dequantize(
        ReadOnlySpan<int> qweight, ReadOnlySpan<int> qzeros, ReadOnlySpan<float> scales, int bits, int inFeatures, int outFeatures, int groupSize, Span<float> destination)
    {
        var pack = 32 / bits;
        var mask = (1u << bits) - 1;
        var groups = inFeatures / groupSize;
        Check(bits is 4 or 8, $"bits {bits} (4 or 8)");
        Check(inFeatures % pack == 0 && outFeatures % pack == 0 && inFeatures % groupSize == 0, $"in {inFeatures} and out {outFeatures} must be multiples of {pack}, in of the group size {groupSize}");
        Check(qweight.Length == inFeatures / pack * outFeatures && qzeros.Length == groups * (outFeatures / pack) && scales.Length == groups * outFeatures, "tensor lengths do not match the layer's shape");
        Check(destination.Length == outFeatures * inFeatures, "destination must hold [out, in]");

        for (var row = 0; row < inFeatures / pack; row++)
        {
            for (var o = 0; o < outFeatures; o++)
            {
                var codes = (uint)qweight[(row * outFeatures) + o];
                for (var j = 0; j < pack; j++)
                {
                    var i = (row * pack) + j;
                    var g = i / groupSize;
                    var q = (int)((codes >> (bits * j)) & mask);
                    destination[(o * inFeatures) + i] = (q - ZeroPoint(qzeros, bits, outFeatures, g, o)) * scales[(g * outFeatures) + o];
                }
            }
        }
    }

    /// <summary>The zero point of output <paramref name="o"/> in group <paramref name="g"/>: the stored value plus one.</summary>
    public static int ZeroPoint(ReadOnlySpan<int> qzeros, int bits, int outFeatures, int g, int o)
    {
        var pack = 32 / bits;
        var word = (uint)qzeros[(g * (outFeatures / pack)) + (o / pack)];
        return (int)((word >> (bits * (o % pack))) & ((1u << bits) - 1)) + 1;
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"gptq: {message}");
        }
    }
}
