using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

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

    /// <summary>x̂ = q · scale, element by element (what attention computes, folded differently; see <see cref="Widen"/>).</summary>
    public static void Dequantize(ReadOnlySpan<sbyte> q, float scale, Span<float> x)
    {
        Widen(q, x);
        TensorPrimitives.Multiply(x[..q.Length], scale, x[..q.Length]);
    }

    /// <summary>
    /// Converts int8 values to float, exactly (every int8 is a float). Attention widens a head vector into scratch and
    /// applies the scale once per position instead of per element: q·k̂ = scale · (q·int8) and
    /// p·v̂ = (p · scale) · int8, so the existing fixed-order kernels run on the widened vector unchanged.
    /// </summary>
    public static void Widen(ReadOnlySpan<sbyte> q, Span<float> x)
    {
        var n = q.Length;
        if (x.Length < n)
        {
            throw new ArgumentException("the float span is shorter than the quantized one", nameof(x));
        }

        ref var source = ref MemoryMarshal.GetReference(q);
        ref var target = ref MemoryMarshal.GetReference(x);
        var width = Vector<sbyte>.Count;
        var floats = Vector<float>.Count;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= n - width; i += width)
            {
                Vector.Widen(Vector.LoadUnsafe(ref source, (nuint)i), out var low, out var high);
                Vector.Widen(low, out var v0, out var v1);
                Vector.Widen(high, out var v2, out var v3);
                Vector.ConvertToSingle(v0).StoreUnsafe(ref target, (nuint)i);
                Vector.ConvertToSingle(v1).StoreUnsafe(ref target, (nuint)(i + floats));
                Vector.ConvertToSingle(v2).StoreUnsafe(ref target, (nuint)(i + (2 * floats)));
                Vector.ConvertToSingle(v3).StoreUnsafe(ref target, (nuint)(i + (3 * floats)));
            }
        }

        for (; i < n; i++)
        {
            x[i] = q[i];
        }
    }
}
