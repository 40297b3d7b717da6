using System.Runtime.InteropServices;
using Brim.Models;

namespace Brim.Backends.Cuda.Weights;

/// <summary>
/// Repacks a quantized checkpoint's layer (AWQ, GPTQ, FP8) into the device layouts of <c>Kernels/quant.cuh</c>, on the
/// host, without changing a code: AWQ and GPTQ 4-bit become <see cref="WeightFormat.Int4"/> (codes regrouped along the
/// input, each group's zero point folded into a half offset -zero·scale), GPTQ 8-bit becomes <see cref="WeightFormat.Int8"/>
/// (q - zero as a signed code), FP8 stays E4M3 with its scale per tensor spread over the rows.
/// </summary>
internal static class QuantizedPacking
{
    /// <summary>One layer in device layout: codes and scales as the device reads them.</summary>
    internal sealed record Packed(WeightFormat Format, int GroupWidth, byte[] Codes, byte[] Scales);

    public static Packed Pack(QuantizedLinear layer, IWeightSource raw)
    {
        switch (layer.Scheme.Method)
        {
            case QuantizationMethod.Fp8:
                var codes = new byte[(long)layer.OutFeatures * layer.InFeatures];
                raw.ReadRaw(layer.Codes, 0, codes);
                var scales = ReadFloats(raw, layer.Scales);
                var rowScales = new float[layer.OutFeatures];
                for (var o = 0; o < rowScales.Length; o++)
                {
                    rowScales[o] = scales[scales.Length == 1 ? 0 : o];
                }

                return new Packed(WeightFormat.Fp8, layer.InFeatures, codes, MemoryMarshal.AsBytes(rowScales.AsSpan()).ToArray());
            case QuantizationMethod.Awq:
            case QuantizationMethod.Gptq:
                var (q, zeros, groupScales) = Unpack(layer, raw);
                return layer.Scheme.Bits == 4
                    ? PackInt4(q, zeros, groupScales, layer.OutFeatures, layer.InFeatures, layer.GroupWidth)
                    : PackInt8(q, zeros, groupScales, layer.OutFeatures, layer.InFeatures, layer.GroupWidth);
            default:
                throw new ModelLoadException($"{layer.WeightName}: no device layout for {layer.Scheme.Method}");
        }
    }

    /// <summary>
    /// Int4 layout from codes q[out, in] (0..15), zero points [out, groups] and scales [out, groups]: w = (q - zero) · scale.
    /// </summary>
    public static Packed PackInt4(byte[] q, byte[] zeros, float[] scales, int outFeatures, int inFeatures, int groupWidth)
    {
        Check(WeightFormat.Int4, inFeatures, groupWidth);
        var groups = inFeatures / groupWidth;
        var words = new uint[(long)outFeatures * inFeatures / 8];
        var halves = new uint[(long)outFeatures * groups];
        Parallel.For(0, outFeatures, o =>
        {
            for (var w = 0; w < inFeatures / 8; w++)
            {
                uint word = 0;
                for (var e = 0; e < 8; e++)
                {
                    word |= (uint)q[((long)o * inFeatures) + (8 * w) + e] << (((e & 1) * 16) + ((e >> 1) * 4));
                }

                words[((long)o * inFeatures / 8) + w] = word;
            }

            for (var g = 0; g < groups; g++)
            {
                var at = ((long)o * groups) + g;
                halves[at] = HalfBits(scales[at]) | ((uint)HalfBits(-zeros[at] * scales[at]) << 16);
            }
        });
        return new Packed(WeightFormat.Int4, groupWidth, MemoryMarshal.AsBytes(words.AsSpan()).ToArray(), MemoryMarshal.AsBytes(halves.AsSpan()).ToArray());
    }

    /// <summary>Int8 layout from 8-bit codes q[out, in] (0..255) and zero points: the signed code q - zero, scales as they are.</summary>
    public static Packed PackInt8(byte[] q, byte[] zeros, float[] scales, int outFeatures, int inFeatures, int groupWidth)
    {
        Check(WeightFormat.Int8, inFeatures, groupWidth);
        var groups = inFeatures / groupWidth;
        var codes = new byte[(long)outFeatures * inFeatures];
        for (long i = 0; i < codes.Length; i++)
        {
            long o = i / inFeatures, g = i % inFeatures / groupWidth;
            var signed = q[i] - zeros[(o * groups) + g];
            if (signed is < sbyte.MinValue or > sbyte.MaxValue)
            {
                throw new ModelLoadException($"int8 code {q[i]} with zero point {zeros[(o * groups) + g]} does not fit a signed byte");
            }

            codes[i] = (byte)(sbyte)signed;
        }

        return new Packed(WeightFormat.Int8, groupWidth, codes, MemoryMarshal.AsBytes(scales.AsSpan()).ToArray());
    }

    /// <summary>AWQ or GPTQ tensors as plain arrays: codes [out, in], zero points and scales [out, groups].</summary>
    private static (byte[] Codes, byte[] Zeros, float[] Scales) Unpack(QuantizedLinear layer, IWeightSource raw)
    {
        int outFeatures = layer.OutFeatures, inFeatures = layer.InFeatures, group = layer.GroupWidth, bits = layer.Scheme.Bits;
        var groups = inFeatures / group;
        var qweight = QuantizedLinear.ReadInts(raw, layer.Codes);
        var qzeros = QuantizedLinear.ReadInts(raw, layer.Zeros!);
        var stored = ReadFloats(raw, layer.Scales); // [groups, out]
        var codes = new byte[(long)outFeatures * inFeatures];
        var zeros = new byte[(long)outFeatures * groups];
        var scales = new float[(long)outFeatures * groups];
        var awq = layer.Scheme.Method == QuantizationMethod.Awq;
        Parallel.For(0, outFeatures, o =>
        {
            for (var i = 0; i < inFeatures; i++)
            {
                codes[((long)o * inFeatures) + i] = awq ? AwqCode(qweight, outFeatures, i, o) : GptqCode(qweight, bits, outFeatures, i, o);
            }

            for (var g = 0; g < groups; g++)
            {
                zeros[((long)o * groups) + g] = awq ? AwqCode(qzeros, outFeatures, g, o) : (byte)GptqDequantizer.ZeroPoint(qzeros, bits, outFeatures, g, o);
                scales[((long)o * groups) + g] = stored[((long)g * outFeatures) + o];
            }
        });
        return (codes, zeros, scales);
    }

    /// <summary>AWQ packs eight outputs a word in the order 0, 2, 4, 6, 1, 3, 5, 7 (see <see cref="AwqDequantizer"/>).</summary>
    private static byte AwqCode(int[] packed, int outFeatures, int row, int o)
    {
        ReadOnlySpan<int> nibbleOfColumn = [0, 4, 1, 5, 2, 6, 3, 7];
        var word = (uint)packed[((long)row * (outFeatures / 8)) + (o / 8)];
        return (byte)((word >> (nibbleOfColumn[o % 8] * 4)) & 0xF);
    }

    /// <summary>GPTQ packs 32/bits consecutive inputs a word, lowest bits first (see <see cref="GptqDequantizer"/>).</summary>
    private static byte GptqCode(int[] qweight, int bits, int outFeatures, int i, int o)
    {
        var pack = 32 / bits;
        var word = (uint)qweight[((long)(i / pack) * outFeatures) + o];
        return (byte)((word >> (bits * (i % pack))) & ((1u << bits) - 1));
    }

    private static ushort HalfBits(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    private static float[] ReadFloats(IWeightSource raw, string name)
    {
        var values = new float[raw.GetInfo(name).ElementCount];
        raw.ReadAsFloat32(name, values);
        return values;
    }

    private static void Check(WeightFormat format, int inFeatures, int groupWidth)
    {
        if (LinearWeight.Unsupported(format, inFeatures, groupWidth) is { } why)
        {
            throw new ModelLoadException(why);
        }
    }
}
