namespace Brim.Models;

/// <summary>
/// The reference math of AWQ GEMM checkpoints: qweight [in, out/8] and qzeros [in/group, out/8] hold eight 4-bit codes
/// per int32 along the output dimension, interleaved so that nibble k (bits 4k..4k+3) holds column
/// <c>[0, 2, 4, 6, 1, 3, 5, 7][k]</c> of its eight (the order AutoAWQ's GEMM kernel unpacks fastest); scales
/// [in/group, out]. w[o, i] = (q[i, o] - z[i/group, o]) × s[i/group, o].
/// </summary>
public static class AwqDequantizer
{
    /// <summary>Nibble that holds column j of a packed group of eight (the inverse of AWQ's packing order).</summary>
    private static readonly int[] NibbleOfColumn = [0, 4, 1, 5, 2, 6, 3, 7];

    /// <summary>Writes the float32 weight [out, in] (row-major, as a Hugging Face linear weight).</summary>
    public static void Dequantize(
        ReadOnlySpan<int> qweight, ReadOnlySpan<int> qzeros, ReadOnlySpan<float> scales, int inFeatures, int outFeatures, int groupSize, Span<float> destination)
    {
        var words = outFeatures / 8;
        var groups = inFeatures / groupSize;
        Check(outFeatures % 8 == 0 && inFeatures % groupSize == 0, $"out {outFeatures} must be a multiple of 8 and in {inFeatures} of the group size {groupSize}");
        Check(qweight.Length == inFeatures * words && qzeros.Length == groups * words && scales.Length == groups * outFeatures, "tensor lengths do not match the layer's shape");
        Check(destination.Length == outFeatures * inFeatures, "destination must hold [out, in]");

        for (var i = 0; i < inFeatures; i++)
        {
            var g = i / groupSize;
            for (var w = 0; w < words; w++)
            {
                var codes = (uint)qweight[(i * words) + w];
                var zeros = (uint)qzeros[(g * words) + w];
                for (var j = 0; j < 8; j++)
                {
                    var shift = NibbleOfColumn[j] * 4;
                    var o = (w * 8) + j;
                    var q = (int)((codes >> shift) & 0xF);
                    var z = (int)((zeros >> shift) & 0xF);
                    destination[(o * inFeatures) + i] = (q - z) * scales[(g * outFeatures) + o];
                }
            }
        }
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"awq: {message}");
        }
    }
}
