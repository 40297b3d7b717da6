namespace Brim.Models.Tests;

public class DTypeConversionTests
{
    [Theory]
    [InlineData((ushort)0x3F80, 1.0f)]
    [InlineData((ushort)0xC000, -2.0f)]
    [InlineData((ushort)0x4049, 3.140625f)]
    [InlineData((ushort)0x0000, 0.0f)]
    [InlineData((ushort)0x7F80, float.PositiveInfinity)]
    [InlineData((ushort)0x0001, 9.18354962e-41f)] // smallest bf16 subnormal, 2^-133
    public void ToFloat32_BF16Bits_GivesKnownValues(ushort bits, float expected)
    {
        var result = new float[1];
        DTypeConversion.ToFloat32(BitConverter.GetBytes(bits), TensorDType.BF16, result);

        Assert.Equal(expected, result[0]);
    }

    [Theory]
    [InlineData((ushort)0x3C00, 1.0f)]
    [InlineData((ushort)0xC000, -2.0f)]
    [InlineData((ushort)0x7BFF, 65504f)]
    [InlineData((ushort)0x0001, 5.96046448e-08f)] // smallest f16 subnormal, 2^-24
    [InlineData((ushort)0x3555, 0.333251953f)]
    public void ToFloat32_F16Bits_GivesKnownValues(ushort bits, float expected)
    {
        var result = new float[1];
        DTypeConversion.ToFloat32(BitConverter.GetBytes(bits), TensorDType.F16, result);

        Assert.Equal(expected, result[0]);
    }

    [Theory]
    [InlineData(0x3F808000u, (ushort)0x3F80)] // tie, even below: round down
    [InlineData(0x3F818000u, (ushort)0x3F82)] // tie, odd below: round up
    [InlineData(0x3F808001u, (ushort)0x3F81)] // above the tie: round up
    [InlineData(0x3F807FFFu, (ushort)0x3F80)] // below the tie: round down
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // float.MaxValue rounds to infinity
    public void ToBFloat16Bits_RoundsToNearestEven(uint floatBits, ushort expected)
    {
        Assert.Equal(expected, DTypeConversion.ToBFloat16Bits(BitConverter.UInt32BitsToSingle(floatBits)));
    }

    [Fact]
    public void ToBFloat16Bits_NaN_StaysNaN()
    {
        Assert.True(float.IsNaN(DTypeConversion.BFloat16BitsToFloat32(DTypeConversion.ToBFloat16Bits(float.NaN))));
    }

    [Fact]
    public void ToFloat32_LongBF16Span_VectorPathMatchesScalarDefinition()
    {
        // 1000 is not a multiple of any vector width, so both the vector loop and the scalar tail run.
        var bits = Enumerable.Range(0, 1000).Select(i => (ushort)((i * 7919) & 0xFFFF)).ToArray();
        var bytes = bits.SelectMany(BitConverter.GetBytes).ToArray();
        var result = new float[bits.Length];

        DTypeConversion.ToFloat32(bytes, TensorDType.BF16, result);

        Assert.Equal(bits.Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)), result.Select(f => f), new BitwiseFloatComparer());
    }

    [Fact]
    public void FromFloat32_F16_RoundTripsRepresentableValues()
    {
        float[] values = [0.5f, -1.25f, 1024f, 65504f, 5.96046448e-08f];
        var bytes = new byte[values.Length * 2];
        var back = new float[values.Length];

        DTypeConversion.FromFloat32(values, TensorDType.F16, bytes);
        DTypeConversion.ToFloat32(bytes, TensorDType.F16, back);

        Assert.Equal(values, back);
        Assert.Equal(0x3C00, BitConverter.ToUInt16(ToF16Bytes(1f)));
    }

    [Fact]
    public void ToFloat32_LengthMismatch_Throws()
    {
        Assert.Throws<ArgumentException>(() => DTypeConversion.ToFloat32(new byte[6], TensorDType.BF16, new float[4]));
    }

    private static byte[] ToF16Bytes(float value)
    {
        var bytes = new byte[2];
        DTypeConversion.FromFloat32([value], TensorDType.F16, bytes);
        return bytes;
    }

    private sealed class BitwiseFloatComparer : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => BitConverter.SingleToUInt32Bits(x) == BitConverter.SingleToUInt32Bits(y);

        public int GetHashCode(float obj) => obj.GetHashCode();
    }
}
