using System.Runtime.InteropServices;
using Brim.Tests;

namespace Brim.Models.Tests;

/// <summary>The reference unpacking of one linear layer, against codes packed here by the formats' layouts.</summary>
public class PackedLinearTests
{
    [Theory]
    [InlineData(16, 32, 16)]
    [InlineData(24, 64, 64)]
    public void AwqDequantize_CodesPackedInAwqOrder_EqualsReferenceExactly(int outFeatures, int inFeatures, int group)
    {
        var random = new Random(3);
        var groups = inFeatures / group;
        var codes = Codes(random, inFeatures, outFeatures, 16);
        var zeros = Codes(random, groups, outFeatures, 16);
        var scales = Scales(random, groups * outFeatures);
        var actual = new float[outFeatures * inFeatures];

        AwqDequantizer.Dequantize(QuantizedCheckpoints.PackAwq(codes), QuantizedCheckpoints.PackAwq(zeros), scales, inFeatures, outFeatures, group, actual);

        for (var o = 0; o < outFeatures; o++)
        {
            for (var i = 0; i < inFeatures; i++)
            {
                Assert.Equal((codes[i, o] - zeros[i / group, o]) * scales[(i / group * outFeatures) + o], actual[(o * inFeatures) + i]);
            }
        }
    }

    [Fact]
    public void AwqDequantize_OneWord_ReadsColumnsFromInterleavedNibbles()
    {
        // Column j of eight sits in nibble [0, 4, 1, 5, 2, 6, 3, 7][j]: codes 0..7 in columns 0..7 pack to 0x75316420.
        var word = unchecked((int)0x75316420u);
        var actual = new float[8];

        AwqDequantizer.Dequantize([word], [0], Enumerable.Repeat(1f, 8).ToArray(), inFeatures: 1, outFeatures: 8, groupSize: 1, actual);

        Assert.Equal([0f, 1, 2, 3, 4, 5, 6, 7], actual);
    }

    [Theory]
    [InlineData(4, 16, 32, 16)]
    [InlineData(4, 8, 48, 48)]
    [InlineData(8, 16, 32, 16)]
    public void GptqDequantize_CodesPackedAlongInputs_EqualsReferenceExactly(int bits, int outFeatures, int inFeatures, int group)
    {
        var random = new Random(5);
        var groups = inFeatures / group;
        var codes = Codes(random, inFeatures, outFeatures, 1 << bits);
        var zeros = Codes(random, groups, outFeatures, 1 << bits);
        var storedZeros = new int[groups, outFeatures];
        for (var g = 0; g < groups; g++)
        {
            for (var o = 0; o < outFeatures; o++)
            {
                zeros[g, o] = Math.Max(1, zeros[g, o]);
                storedZeros[g, o] = zeros[g, o] - 1;
            }
        }

        var scales = Scales(random, groups * outFeatures);
        var actual = new float[outFeatures * inFeatures];

        GptqDequantizer.Dequantize(
            QuantizedCheckpoints.PackGptqRows(codes, bits), QuantizedCheckpoints.PackGptqColumns(storedZeros, bits), scales, bits, inFeatures, outFeatures, group, actual);

        for (var o = 0; o < outFeatures; o++)
        {
            for (var i = 0; i < inFeatures; i++)
            {
                Assert.Equal((codes[i, o] - zeros[i / group, o]) * scales[(i / group * outFeatures) + o], actual[(o * inFeatures) + i]);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    public void Fp8Dequantize_EveryCode_EqualsDefinitionTimesScale(int scaleCount)
    {
        const int outFeatures = 6, inFeatures = 43;
        var codes = Enumerable.Range(0, outFeatures * inFeatures).Select(k => (byte)((k * 37) % 256)).Select(c => (c & 0x7F) == 0x7F ? (byte)0 : c).ToArray();
        var scales = Enumerable.Range(1, scaleCount).Select(s => s * 0.25f).ToArray();
        var actual = new float[codes.Length];

        Fp8Dequantizer.Dequantize(codes, scales, outFeatures, inFeatures, actual);

        for (var k = 0; k < codes.Length; k++)
        {
            Assert.Equal(QuantizedCheckpoints.DecodeE4M3(codes[k]) * scales[scaleCount == 1 ? 0 : k / inFeatures], actual[k]);
        }
    }

    [Fact]
    public void Fp8E4M3FromFloat_EveryFiniteCode_RoundTripsAndSaturates()
    {
        for (var code = 0; code < 256; code++)
        {
            if ((code & 0x7F) != 0x7F)
            {
                Assert.Equal(QuantizedCheckpoints.DecodeE4M3((byte)code), Fp8E4M3.ToFloat((byte)code));
                Assert.Equal((byte)code, Fp8E4M3.FromFloat(Fp8E4M3.ToFloat((byte)code)));
            }
        }

        Assert.Equal(448f, Fp8E4M3.ToFloat(0x7E));
        Assert.Equal(0x7E, Fp8E4M3.FromFloat(1e6f));
        Assert.Equal(0xFE, Fp8E4M3.FromFloat(-500f));

        // 1.0625 lies halfway between 1 (mantissa 000) and 1.125 (001): ties go to the even code.
        Assert.Equal(1f, Fp8E4M3.ToFloat(Fp8E4M3.FromFloat(1.0625f)));
    }

    [Fact]
    public void SafetensorsRoundTrip_I32AndF8Tensors_ReadBackAsStored()
    {
        using var temp = new TempDirectory();
        int[] words = [1, -1, int.MaxValue];
        byte[] codes = [0, 0x7E, 0x80];
        new SafetensorsWriter()
            .AddRaw("w", TensorDType.I32, [3], MemoryMarshal.AsBytes(words.AsSpan()))
            .AddRaw("c", TensorDType.F8E4M3, [3], codes)
            .Write(temp.File("model.safetensors"));
        File.WriteAllText(temp.File("config.json"), "{}");

        var (source, unsupported) = SafetensorsCheckpoint.Open(temp.Path);
        using (source)
        {
            var readWords = new int[3];
            var readCodes = new byte[3];
            source.ReadRaw("w", 0, MemoryMarshal.AsBytes(readWords.AsSpan()));
            source.ReadRaw("c", 0, readCodes);

            Assert.Empty(unsupported);
            Assert.Equal(words, readWords);
            Assert.Equal(codes, readCodes);
            Assert.Throws<ModelLoadException>(() => source.ReadAsFloat32("c", new float[3]));
        }
    }

    private static int[,] Codes(Random random, int rows, int cols, int levels)
    {
        var codes = new int[rows, cols];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                codes[r, c] = random.Next(levels);
            }
        }

        return codes;
    }

    private static float[] Scales(Random random, int count) =>
        QuantizedCheckpoints.RoundToHalf(Enumerable.Range(0, count).Select(_ => (float)(0.001 + (random.NextDouble() * 0.01))).ToArray());
}
