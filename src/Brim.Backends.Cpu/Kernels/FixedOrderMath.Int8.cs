using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Brim.Backends.Cpu.Kernels;

/// <summary>
/// The int8 KV cache's kernels: float against int8 operands widened in registers. Each gives bitwise the result of the
/// float kernel on the widened vector (int8 → float is exact), so the order of operations is still fixed by the length
/// alone, and the widened vector never goes through memory.
/// </summary>
internal static partial class FixedOrderMath
{
    /// <summary>Bitwise <c>Dot(a, (float)b)</c>: the same two accumulators, fed in the same order.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<sbyte> b)
    {
        if (a.Length != b.Length)
        {
            ThrowLengthMismatch();
        }

        var n = a.Length;
        var width = Vector<float>.Count;
        ref var ar = ref MemoryMarshal.GetReference(a);
        ref var br = ref MemoryMarshal.GetReference(b);
        var even = Vector<float>.Zero;
        var odd = Vector<float>.Zero;
        var i = 0;

        // One sbyte vector widens to four float vectors: two of Dot's double steps.
        for (; i <= n - (4 * width); i += 4 * width)
        {
            Widen(ref br, i, out var b0, out var b1, out var b2, out var b3);
            even = Vector.FusedMultiplyAdd(Load(ref ar, i), b0, even);
            odd = Vector.FusedMultiplyAdd(Load(ref ar, i + width), b1, odd);
            even = Vector.FusedMultiplyAdd(Load(ref ar, i + (2 * width)), b2, even);
            odd = Vector.FusedMultiplyAdd(Load(ref ar, i + (3 * width)), b3, odd);
        }

        if (i == n)
        {
            return Vector.Sum(even + odd);
        }

        // The rest (under one sbyte vector) through a small buffer, continuing Dot's steps where the loop stopped.
        Span<float> rest = stackalloc float[4 * width];
        for (var j = i; j < n; j++)
        {
            rest[j - i] = Unsafe.Add(ref br, j);
        }

        ref var rr = ref MemoryMarshal.GetReference(rest);
        var start = i;
        for (; i <= n - (2 * width); i += 2 * width)
        {
            even = Vector.FusedMultiplyAdd(Load(ref ar, i), Load(ref rr, i - start), even);
            odd = Vector.FusedMultiplyAdd(Load(ref ar, i + width), Load(ref rr, i - start + width), odd);
        }

        if (i <= n - width)
        {
            even = Vector.FusedMultiplyAdd(Load(ref ar, i), Load(ref rr, i - start), even);
            i += width;
        }

        var sum = Vector.Sum(even + odd);
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref ar, i), Unsafe.Add(ref rr, i - start), sum);
        }

        return sum;
    }

    /// <summary>result[i] = fma((float)x[i], weight, result[i]): bitwise TensorPrimitives.FusedMultiplyAdd on the widened x.</summary>
    public static void FusedMultiplyAdd(ReadOnlySpan<sbyte> x, float weight, Span<float> result)
    {
        var n = x.Length;
        if (result.Length != n)
        {
            ThrowLengthMismatch();
        }

        var width = Vector<float>.Count;
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var rr = ref MemoryMarshal.GetReference(result);
        var w = new Vector<float>(weight);
        var i = 0;
        for (; i <= n - (4 * width); i += 4 * width)
        {
            Widen(ref xr, i, out var x0, out var x1, out var x2, out var x3);
            Vector.FusedMultiplyAdd(x0, w, Load(ref rr, i)).StoreUnsafe(ref rr, (nuint)i);
            Vector.FusedMultiplyAdd(x1, w, Load(ref rr, i + width)).StoreUnsafe(ref rr, (nuint)(i + width));
            Vector.FusedMultiplyAdd(x2, w, Load(ref rr, i + (2 * width))).StoreUnsafe(ref rr, (nuint)(i + (2 * width)));
            Vector.FusedMultiplyAdd(x3, w, Load(ref rr, i + (3 * width))).StoreUnsafe(ref rr, (nuint)(i + (3 * width)));
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref rr, i) = MathF.FusedMultiplyAdd(Unsafe.Add(ref xr, i), weight, Unsafe.Add(ref rr, i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(ref sbyte source, int offset, out Vector<float> v0, out Vector<float> v1, out Vector<float> v2, out Vector<float> v3)
    {
        Vector.Widen(Vector.LoadUnsafe(ref source, (nuint)offset), out var low, out var high);
        Vector.Widen(low, out var i0, out var i1);
        Vector.Widen(high, out var i2, out var i3);
        v0 = Vector.ConvertToSingle(i0);
        v1 = Vector.ConvertToSingle(i1);
        v2 = Vector.ConvertToSingle(i2);
        v3 = Vector.ConvertToSingle(i3);
    }
}
