using System.Runtime.InteropServices;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>
/// quantize_* in quant_convert.cu against the CPU's quantize-on-load math (<see cref="WeightQuantizer"/>): the same codes
/// and scales for every row and group, written at the row offset a fused projection gives.
/// </summary>
public class QuantizeKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(WeightQuantization.Int4, 24, 256, 128)]
    [InlineData(WeightQuantization.Int4, 9, 96, 96)]
    [InlineData(WeightQuantization.Int8, 17, 4096, 4096)]
    [InlineData(WeightQuantization.Fp8, 13, 512, 512)]
    public void Quantize_RandomRows_MatchesWeightQuantizer(WeightQuantization quantization, int rows, int inFeatures, int group)
    {
        var format = LinearWeight.FormatOf(quantization);
        Gpu.Require();
        if (format == WeightFormat.Fp8)
        {
            Assert.SkipUnless(Gpu.SupportsFp8, "fp8 quantization needs sm_89+");
        }

        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var values = Bf16.Random(random, rows * inFeatures).Select(Bf16.Round).ToArray();
        values[5] = 0; // a few exact zeros and a constant group are the edge cases
        using var kernels = new QuantizeKernels(gpu.Device, gpu.Compiler);
        const int firstRow = 3; // written after three rows of another member, as q/k/v share one layout
        var totalRows = rows + firstRow;
        using var dSource = gpu.Upload<ushort>(Bf16.ToBits(values));
        using var dCodes = gpu.Allocate<byte>(LinearWeight.CodeBytes(format, totalRows, inFeatures));
        using var dScales = gpu.Allocate<byte>(LinearWeight.ScaleBytes(format, totalRows, inFeatures, group));
        var target = new LinearWeight(dCodes.Pointer, dScales.Pointer, format, group);
        kernels.Quantize(gpu.Stream, dSource.Pointer, target, firstRow, rows, inFeatures);
        var codes = gpu.Download<byte>(dCodes, LinearWeight.CodeBytes(format, totalRows, inFeatures))[(int)LinearWeight.CodeBytes(format, firstRow, inFeatures)..];
        var scales = gpu.Download<byte>(dScales, LinearWeight.ScaleBytes(format, totalRows, inFeatures, group))[(int)LinearWeight.ScaleBytes(format, firstRow, inFeatures, group)..];

        // The device layout read back equals the CPU's round trip (int4's scales rounded to half on the device).
        var actual = QuantLayouts.Dequantize(format, codes, scales, rows, inFeatures, group);
        var expected = values.ToArray();
        WeightQuantizer.RoundTrip(quantization, expected, rows, inFeatures);
        if (format == WeightFormat.Int4)
        {
            Assert.Equal(WeightQuantizer.Int4Group(inFeatures), group);
            Compare.Close(actual, expected, 2e-3, $"int4 quantize (seed {seed})");
            CheckInt4Codes(values, codes, rows, inFeatures, group, seed);
        }
        else
        {
            Assert.Equal(expected, actual);
        }
    }

    /// <summary>The codes themselves: round(w / scale) + zero with the CPU's float scale and zero.</summary>
    private static void CheckInt4Codes(float[] values, byte[] codes, int rows, int inFeatures, int group, int seed)
    {
        var words = MemoryMarshal.Cast<byte, uint>(codes);
        for (var r = 0; r < rows; r++)
        {
            for (var g = 0; g < inFeatures / group; g++)
            {
                var slice = values.AsSpan((r * inFeatures) + (g * group), group).ToArray();
                float min = slice.Min(), max = slice.Max();
                var scale = Math.Max(max - min, 1e-5f) / 15f;
                var zero = Math.Clamp(-MathF.Round(min / scale), 0f, 15f);
                for (var e = 0; e < group; e++)
                {
                    var i = (r * inFeatures) + (g * group) + e;
                    var want = (uint)Math.Clamp(MathF.Round(values[i] / scale) + zero, 0f, 15f);
                    var got = (words[i / 8] >> (((i % 8 & 1) * 16) + ((i % 8 >> 1) * 4))) & 0xF;
                    Assert.True(want == got, $"int4 code [{r}, {(g * group) + e}]: {got} != {want} (seed {seed})");
                }
            }
        }
    }
}
