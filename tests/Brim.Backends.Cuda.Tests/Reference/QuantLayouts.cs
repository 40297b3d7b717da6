using System.Runtime.InteropServices;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>
/// The CPU twin of Kernels/quant.cuh's layouts: random codes and scales of each format, and their float32 weights with
/// the device's arithmetic (fp8: e4m3 × scale; int8: q × scale; int4: fma(128 + q, s, m - 128·s) from half s and m).
/// </summary>
internal static class QuantLayouts
{
    public static (byte[] Codes, byte[] Scales) Random(Random random, WeightFormat format, int rows, int inFeatures, int group)
    {
        var codes = new byte[LinearWeight.CodeBytes(format, rows, inFeatures)];
        random.NextBytes(codes);
        var groups = inFeatures / group;
        switch (format)
        {
            case WeightFormat.Fp8:
                for (var i = 0; i < codes.Length; i++)
                {
                    if ((codes[i] & 0x7F) == 0x7F)
                    {
                        codes[i] ^= 0x01; // no NaN codes: real weights have none
                    }
                }

                return (codes, Floats(Enumerable.Range(0, rows).Select(_ => 0.002f + (random.NextSingle() * 0.01f))));
            case WeightFormat.Int8:
                return (codes, Floats(Enumerable.Range(0, rows * groups).Select(_ => 0.001f + (random.NextSingle() * 0.02f))));
            case WeightFormat.Int4:
                var halves = new uint[rows * groups];
                for (var i = 0; i < halves.Length; i++)
                {
                    var s = (float)(Half)(0.01f + (random.NextSingle() * 0.05f));
                    var zero = random.Next(16);
                    halves[i] = BitConverter.HalfToUInt16Bits((Half)s) | ((uint)BitConverter.HalfToUInt16Bits((Half)(-zero * s)) << 16);
                }

                return (codes, MemoryMarshal.AsBytes(halves.AsSpan()).ToArray());
            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    /// <summary>The float32 weight [rows, inFeatures] a layout holds, computed as the device computes it.</summary>
    public static float[] Dequantize(WeightFormat format, byte[] codes, byte[] scales, int rows, int inFeatures, int group)
    {
        var groups = inFeatures / group;
        var floats = MemoryMarshal.Cast<byte, float>(scales).ToArray();
        var words = MemoryMarshal.Cast<byte, uint>(codes.AsSpan(0, codes.Length / 4 * 4)).ToArray();
        var halves = MemoryMarshal.Cast<byte, uint>(scales).ToArray();
        var w = new float[(long)rows * inFeatures];
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < inFeatures; i++)
            {
                var at = ((long)r * inFeatures) + i;
                w[at] = format switch
                {
                    WeightFormat.Fp8 => Fp8E4M3.ToFloat(codes[at]) * floats[r],
                    WeightFormat.Int8 => (sbyte)codes[at] * floats[(r * groups) + (i / group)],
                    WeightFormat.Int4 => Int4(words[at / 8], (int)(at % 8), halves[(r * groups) + (i / group)]),
                    _ => throw new ArgumentOutOfRangeException(nameof(format)),
                };
            }
        }

        return w;
    }

    private static float Int4(uint word, int e, uint scaleOffset)
    {
        var q = (word >> (((e & 1) * 16) + ((e >> 1) * 4))) & 0xF;
        var s = (float)BitConverter.UInt16BitsToHalf((ushort)(scaleOffset & 0xFFFF));
        var m = (float)BitConverter.UInt16BitsToHalf((ushort)(scaleOffset >> 16));
        return MathF.FusedMultiplyAdd(128 + q, s, m - (128 * s));
    }

    private static byte[] Floats(IEnumerable<float> values) => MemoryMarshal.AsBytes(values.ToArray().AsSpan()).ToArray();
}
