using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Brim.Models;

/// <summary>
/// Conversions between stored element types and float32. bfloat16 is the upper half of a float32, so widening is a
/// shift; narrowing rounds to nearest even, as PyTorch does. float16 goes through <see cref="Half"/>.
/// </summary>
public static class DTypeConversion
{
    /// <summary>Widens little-endian stored elements to float32; <paramref name="destination"/> holds one float per element.</summary>
    public static void ToFloat32(ReadOnlySpan<byte> source, TensorDType dtype, Span<float> destination)
    {
        if (source.Length != destination.Length * dtype.ByteSize())
        {
            throw new ArgumentException($"{source.Length} bytes of {dtype} do not make {destination.Length} elements", nameof(source));
        }

        switch (dtype)
        {
            case TensorDType.F32:
                source.CopyTo(MemoryMarshal.AsBytes(destination));
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case TensorDType.BF16:
                BFloat16ToFloat32(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            default:
                // I32 and F8_E4M3 hold packed codes: their values mean something only with their scales (Quantization/).
                throw new ModelLoadException($"{dtype.SafetensorsName()} tensors are quantized codes and cannot be read as float32 by themselves");
        }
    }

    /// <summary>Narrows float32 to the stored representation of <paramref name="dtype"/> (little-endian).</summary>
    public static void FromFloat32(ReadOnlySpan<float> source, TensorDType dtype, Span<byte> destination)
    {
        if (destination.Length != source.Length * dtype.ByteSize())
        {
            throw new ArgumentException($"{destination.Length} bytes cannot hold {source.Length} elements of {dtype}", nameof(destination));
        }

        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case TensorDType.BF16:
                var bits = MemoryMarshal.Cast<byte, ushort>(destination);
                for (var i = 0; i < source.Length; i++)
                {
                    bits[i] = ToBFloat16Bits(source[i]);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype");
        }
    }

    /// <summary>The float32 whose upper 16 bits are <paramref name="bits"/>.</summary>
    public static float BFloat16BitsToFloat32(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Rounds a float32 to bfloat16 (nearest, ties to even); NaN stays a quiet NaN.</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        var roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    private static void BFloat16ToFloat32(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        var output = MemoryMarshal.Cast<float, uint>(destination);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var sourceVectors = MemoryMarshal.Cast<ushort, Vector<ushort>>(source);
            var outputVectors = MemoryMarshal.Cast<uint, Vector<uint>>(output);
            for (var v = 0; v < sourceVectors.Length; v++)
            {
                Vector.Widen(sourceVectors[v], out var low, out var high);
                outputVectors[2 * v] = Vector.ShiftLeft(low, 16);
                outputVectors[(2 * v) + 1] = Vector.ShiftLeft(high, 16);
            }

            i = sourceVectors.Length * Vector<ushort>.Count;
        }

        for (; i < source.Length; i++)
        {
            output[i] = (uint)source[i] << 16;
        }
    }
}
