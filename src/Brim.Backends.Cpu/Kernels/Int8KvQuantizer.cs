using System.Numerics.Tensors;

namespace Brim.Backends.Cpu.Kernels;

/// <summary>
/// Symmetric INT8 quantization of one (token, KV head) vector with its own float scale (the contract of
/// <see cref="Core.Execution.KvCacheDType.Int8"/>): scale = max|x| / 127, q = round-half-to-even(x / scale) clamped to
/// [-127, 127], x̂ = q · scale. An all-zero vector has scale 0 and stays zero.
/// </summary>
/// <remarks>
/// Every step depends on the vector alone and is exact or correctly rounded per element (the maximum of magnitudes is
/// exact in any order, one division and one rounding per element), so a token's quantized K/V is the same bits whatever
/// the batch, the chunking or the thread. -128 is never used: the range stays symmetric so that x and -x quantize to
/// q and -q. The loop is scalar on purpose: it runs once per written token and layer over kvDim elements, which is
/// nothing beside the matmul that produced them.
/// </remarks>
internal static class Int8KvQuantizer
{
    /// <summary>The largest quantized magnitude: max|x| maps to ±127.</summary>
    public const int MaxLevel = 127;

    /// <summary>Quantizes <paramref name="x"/> into <paramref name="q"/> (same length) and returns the scale.</summary>
    public static float Quantize(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        if (x.Length != q.Length)
        {
            throw new ArgumentException("the quantized span must have the vector's length", nameof(q));
        }

        var scale = MathF.Abs(TensorPrimitives.MaxMagnitude(x)) / MaxLevel;
        if (scale == 0)
        {
            // All zeros (or magnitudes so small that max / 127 underflows): nothing to keep.
            q.Clear();
            return 0;
        }

        for (var i = 0; i < x.Length; i++)
        {
            // MathF.Round rounds half to even; the clamp only catches x / scale landing a rounding step above 127.
            q[i] = (sbyte)Math.Clamp(MathF.Round(x[i] / scale), -MaxLevel, MaxLevel);
        }

        return scale;
    }

    /// <summary>
    /// x̂ = q · scale, element by element. Attention does not call this: it applies the scale once per position to
    /// the int8 values widened in registers (q·k̂ = (q·int8) · scale, w·v̂ = (w · scale) · int8; see
    /// <see cref="FixedOrderMath.Dot(ReadOnlySpan{float}, ReadOnlySpan{sbyte})"/>).
    /// </summary>
    public static void Dequantize(ReadOnlySpan<sbyte> q, float scale, Span<float> x)
    {
        for (var i = 0; i < q.Length; i++)
        {
            x[i] = q[i] * scale;
        }
    }
}
