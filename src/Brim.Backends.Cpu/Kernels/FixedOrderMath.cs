using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Brim.Backends.Cpu.Kernels;

/// <summary>
/// Reductions whose sequence of float operations depends only on the LENGTH of their inputs: never on memory
/// alignment, batch size, tile shape or thread. This is what makes the backend batch invariant.
/// </summary>
/// <remarks>
/// TensorPrimitives' reductions (Dot, Sum, SumOfSquares) are not used on purpose: they align their loop to the
/// address of the input, so the grouping of the partial sums (and therefore the rounding) changes with where a row
/// happens to sit in memory, which differs between a token at row 0 and the same token at row 5, and even between
/// two runs once the GC moves an array.
/// <para>
/// Every dot product here is: two vector accumulators fed alternately with fused multiply-adds over whole vectors
/// (a leftover whole vector goes to the first), their horizontal sum, then the scalar tail fused in order.
/// <see cref="Dot4"/> runs four such chains side by side sharing the loads of the weight row; each chain performs
/// exactly the operations of <see cref="Dot"/>, so a token gets the same bits in a 4-token tile or alone.
/// </para>
/// </remarks>
internal static partial class FixedOrderMath
{
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
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
        for (; i <= n - (2 * width); i += 2 * width)
        {
            even = Vector.FusedMultiplyAdd(Load(ref ar, i), Load(ref br, i), even);
            odd = Vector.FusedMultiplyAdd(Load(ref ar, i + width), Load(ref br, i + width), odd);
        }

        if (i <= n - width)
        {
            even = Vector.FusedMultiplyAdd(Load(ref ar, i), Load(ref br, i), even);
            i += width;
        }

        var sum = Vector.Sum(even + odd);
        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref ar, i), Unsafe.Add(ref br, i), sum);
        }

        return sum;
    }

    /// <summary>Four dot products of one weight row <paramref name="w"/> with four inputs; each result bitwise equals <see cref="Dot"/>.</summary>
    public static void Dot4(
        ReadOnlySpan<float> w,
        ReadOnlySpan<float> x0,
        ReadOnlySpan<float> x1,
        ReadOnlySpan<float> x2,
        ReadOnlySpan<float> x3,
        out float r0,
        out float r1,
        out float r2,
        out float r3)
    {
        var n = w.Length;
        if (x0.Length != n || x1.Length != n || x2.Length != n || x3.Length != n)
        {
            ThrowLengthMismatch();
        }

        var width = Vector<float>.Count;
        ref var wr = ref MemoryMarshal.GetReference(w);
        ref var a = ref MemoryMarshal.GetReference(x0);
        ref var b = ref MemoryMarshal.GetReference(x1);
        ref var c = ref MemoryMarshal.GetReference(x2);
        ref var d = ref MemoryMarshal.GetReference(x3);
        Vector<float> aEven = default, aOdd = default, bEven = default, bOdd = default;
        Vector<float> cEven = default, cOdd = default, dEven = default, dOdd = default;
        var i = 0;
        for (; i <= n - (2 * width); i += 2 * width)
        {
            var w0 = Load(ref wr, i);
            var w1 = Load(ref wr, i + width);
            aEven = Vector.FusedMultiplyAdd(w0, Load(ref a, i), aEven);
            aOdd = Vector.FusedMultiplyAdd(w1, Load(ref a, i + width), aOdd);
            bEven = Vector.FusedMultiplyAdd(w0, Load(ref b, i), bEven);
            bOdd = Vector.FusedMultiplyAdd(w1, Load(ref b, i + width), bOdd);
            cEven = Vector.FusedMultiplyAdd(w0, Load(ref c, i), cEven);
            cOdd = Vector.FusedMultiplyAdd(w1, Load(ref c, i + width), cOdd);
            dEven = Vector.FusedMultiplyAdd(w0, Load(ref d, i), dEven);
            dOdd = Vector.FusedMultiplyAdd(w1, Load(ref d, i + width), dOdd);
        }

        if (i <= n - width)
        {
            var w0 = Load(ref wr, i);
            aEven = Vector.FusedMultiplyAdd(w0, Load(ref a, i), aEven);
            bEven = Vector.FusedMultiplyAdd(w0, Load(ref b, i), bEven);
            cEven = Vector.FusedMultiplyAdd(w0, Load(ref c, i), cEven);
            dEven = Vector.FusedMultiplyAdd(w0, Load(ref d, i), dEven);
            i += width;
        }

        r0 = Vector.Sum(aEven + aOdd);
        r1 = Vector.Sum(bEven + bOdd);
        r2 = Vector.Sum(cEven + cOdd);
        r3 = Vector.Sum(dEven + dOdd);
        for (; i < n; i++)
        {
            var wi = Unsafe.Add(ref wr, i);
            r0 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref a, i), r0);
            r1 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref b, i), r1);
            r2 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref c, i), r2);
            r3 = MathF.FusedMultiplyAdd(wi, Unsafe.Add(ref d, i), r3);
        }
    }

    public static float SumOfSquares(ReadOnlySpan<float> x) => Dot(x, x);

    /// <summary>Sum in the same two-accumulator order as <see cref="Dot"/>.</summary>
    public static float Sum(ReadOnlySpan<float> x)
    {
        var n = x.Length;
        var width = Vector<float>.Count;
        ref var xr = ref MemoryMarshal.GetReference(x);
        var even = Vector<float>.Zero;
        var odd = Vector<float>.Zero;
        var i = 0;
        for (; i <= n - (2 * width); i += 2 * width)
        {
            even += Load(ref xr, i);
            odd += Load(ref xr, i + width);
        }

        if (i <= n - width)
        {
            even += Load(ref xr, i);
            i += width;
        }

        var sum = Vector.Sum(even + odd);
        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref xr, i);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(ref float source, int offset) => Vector.LoadUnsafe(ref source, (nuint)offset);

    private static void ThrowLengthMismatch() => throw new ArgumentException("dot product operands must have the same length");
}
