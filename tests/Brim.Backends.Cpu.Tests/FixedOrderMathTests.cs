using System.Numerics.Tensors;
using Brim.Backends.Cpu.Kernels;

namespace Brim.Backends.Cpu.Tests;

public sealed class FixedOrderMathTests
{
    [Fact]
    public void Dot4_AnyLengthAndAlignment_BitwiseEqualsDotOfEachInput()
    {
        var random = new Random(3);
        var pool = Enumerable.Range(0, 600).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        for (var length = 0; length <= 70; length++)
        {
            for (var offset = 0; offset < 8; offset++)
            {
                // The inputs start at different offsets (hence different alignments) of the same pool.
                var w = pool.AsSpan(offset, length);
                var x0 = pool.AsSpan(100 + (offset * 3), length);
                var x1 = pool.AsSpan(201 + offset, length);
                var x2 = pool.AsSpan(302, length);
                var x3 = pool.AsSpan(405 + (offset * 7), length);
                FixedOrderMath.Dot4(w, x0, x1, x2, x3, out var r0, out var r1, out var r2, out var r3);
                Assert.Equal(FixedOrderMath.Dot(w, x0), r0);
                Assert.Equal(FixedOrderMath.Dot(w, x1), r1);
                Assert.Equal(FixedOrderMath.Dot(w, x2), r2);
                Assert.Equal(FixedOrderMath.Dot(w, x3), r3);

                // The same values at another alignment give the same bits.
                var copy = new float[length + 5];
                x1.CopyTo(copy.AsSpan(5 - (offset % 5)));
                Assert.Equal(FixedOrderMath.Dot(w, x1), FixedOrderMath.Dot(w, copy.AsSpan(5 - (offset % 5), length)));
            }
        }
    }

    [Fact]
    public void Dot_RandomVectors_MatchesDoublePrecision()
    {
        var random = new Random(4);
        foreach (var length in new[] { 1, 7, 8, 17, 64, 1000 })
        {
            var a = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble()).ToArray();
            var b = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble()).ToArray();
            var exact = a.Zip(b, (x, y) => (double)x * y).Sum();
            Assert.Equal(exact, FixedOrderMath.Dot(a, b), exact * 1e-6);
            Assert.Equal(a.Sum(x => (double)x), FixedOrderMath.Sum(a), length * 1e-6);
        }
    }

    [Fact]
    public void DotInt8_AnyLengthAndOffset_BitwiseEqualsDotOfTheWidenedVector()
    {
        var random = new Random(6);
        var floats = Enumerable.Range(0, 300).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var bytes = Enumerable.Range(0, 300).Select(_ => (sbyte)random.Next(-127, 128)).ToArray();
        for (var length = 0; length <= 140; length++)
        {
            for (var offset = 0; offset < 5; offset++)
            {
                var a = floats.AsSpan(offset, length);
                var b = bytes.AsSpan(offset * 3, length);
                var widened = b.ToArray().Select(v => (float)v).ToArray();
                Assert.Equal(FixedOrderMath.Dot(a, widened), FixedOrderMath.Dot(a, b));
            }
        }
    }

    [Fact]
    public void FusedMultiplyAddInt8_AnyLengthAndOffset_BitwiseEqualsTensorPrimitivesOnTheWidenedVector()
    {
        var random = new Random(7);
        var bytes = Enumerable.Range(0, 300).Select(_ => (sbyte)random.Next(-127, 128)).ToArray();
        for (var length = 0; length <= 140; length++)
        {
            for (var offset = 0; offset < 5; offset++)
            {
                var x = bytes.AsSpan(offset, length);
                var start = Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
                var weight = (float)random.NextDouble() * 1e-2f;
                var expected = start.ToArray();
                TensorPrimitives.FusedMultiplyAdd(x.ToArray().Select(v => (float)v).ToArray(), weight, expected, expected);
                var actual = start.ToArray();
                FixedOrderMath.FusedMultiplyAdd(x, weight, actual);
                Assert.Equal(expected, actual);
            }
        }
    }

    [Fact]
    public void Dot_DifferentLengths_Throws() =>
        Assert.Throws<ArgumentException>(() => FixedOrderMath.Dot(new float[3], new float[4]));
}
