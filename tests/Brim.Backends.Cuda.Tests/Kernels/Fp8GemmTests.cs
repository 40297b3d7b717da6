using System.Runtime.InteropServices;
using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>
/// The W8A8 path (<see cref="Fp8Gemm"/>, fp8_gemm.cu, cuBLASLt) against its CPU twin: the per-token activation codes
/// and scales bit for bit, and the product against the fp64 sum over the dequantized activations and weights, at
/// shapes whose token rows are not multiples of 16. On sm_89+ the path must exist: a cuBLASLt that offers no plain
/// E4M3 product fails here rather than silently falling back.
/// </summary>
public class Fp8GemmTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(13, 4096)]
    [InlineData(1, 16)]
    [InlineData(77, 14336)]
    public void QuantizeTokens_RandomRows_MatchesTheTwinBitForBit(int rows, int width)
    {
        RequireFp8();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var x = Bf16.Random(random, rows * width, scale: 3f);
        x.AsSpan(0, width).Clear(); // an all-zero row: scale 0, zero codes
        if (rows > 2)
        {
            x[(2 * width) + 1] = Bf16.Round(1e-30f); // E4M3 subnormals and flushes in a row of otherwise ordinary values
            x[(2 * width) + 2] = Bf16.Round(-200f);
        }

        using var kernels = new Fp8GemmKernels(gpu.Device, gpu.Compiler);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dCodes = gpu.Allocate<byte>(rows * width);
        using var dScales = gpu.Allocate<float>(rows);
        kernels.QuantizeTokens(gpu.Stream, dX.Pointer, dCodes.Pointer, dScales.Pointer, rows, width);

        var (codes, scales) = Fp8.QuantizeTokens(x, rows, width);
        Assert.Equal(scales, gpu.Download<float>(dScales, rows));
        var actual = gpu.Download<byte>(dCodes, rows * width);
        var mismatch = Enumerable.Range(0, codes.Length).FirstOrDefault(i => codes[i] != actual[i], -1);
        Assert.True(mismatch < 0, $"code [{mismatch / width}, {mismatch % width}]: device 0x{(mismatch < 0 ? 0 : actual[mismatch]):x2}, twin 0x{(mismatch < 0 ? 0 : codes[mismatch]):x2} (seed {seed})");
    }

    /// <summary>
    /// Against the twin's quantized operands the only errors are the GPU's: each term of the sum is exact (E4M3 × E4M3
    /// has 8 significant bits), the sum is fp32, then rounded to bf16 once raw and once scaled (≤ 2⁻⁸ relative each,
    /// about 0.25 % RMS together): 5e-3. Against the unquantized activations E4M3's own rounding (3 mantissa bits,
    /// ≤ 2⁻⁴ relative, about 2.5 % RMS for these values, averaging across the sum's independent terms) dominates: 6e-2.
    /// </summary>
    [Theory]
    [InlineData(33, 4096, 256)]
    [InlineData(129, 512, 1024)]
    [InlineData(200, 256, 48)]
    [InlineData(7, 64, 32)]
    [InlineData(1000, 1024, 64)]
    public void Linear_RandomShapes_MatchesTheDequantizedProduct(int rows, int inFeatures, int outFeatures)
    {
        RequireFp8();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var gemm = Create(rows, inFeatures);
        var (wCodes, wScaleBytes) = QuantLayouts.Random(random, WeightFormat.Fp8, outFeatures, inFeatures, inFeatures);
        var x = Bf16.Random(random, rows * inFeatures);
        using var dCodes = gpu.Upload<byte>(wCodes);
        using var dScales = gpu.Upload<byte>(wScaleBytes);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dY = gpu.Allocate<ushort>(rows * outFeatures);
        var weight = new LinearWeight(dCodes.Pointer, dScales.Pointer, WeightFormat.Fp8, inFeatures);
        Assert.True(gemm.CanRun(weight, dY.Pointer, rows, inFeatures, outFeatures), $"W8A8 refused rows {rows}, in {inFeatures}, out {outFeatures}: {gemm.FallbackReason}");
        Assert.True(gemm.TryLinear(weight, dX.Pointer, dY.Pointer, rows, inFeatures, outFeatures), gemm.FallbackReason);
        var actual = Bf16.FromBits(gpu.Download<ushort>(dY, rows * outFeatures));

        var wScales = MemoryMarshal.Cast<byte, float>(wScaleBytes).ToArray();
        var (aCodes, aScales) = Fp8.QuantizeTokens(x, rows, inFeatures);
        var expected = Product(aCodes, aScales, wCodes, wScales, rows, inFeatures, outFeatures);
        var shape = $"{rows}x{inFeatures}->{outFeatures} (seed {seed})";
        Compare.Close(actual, expected, 5e-3, $"W8A8 against its quantized operands, {shape}");

        var weights = QuantLayouts.Dequantize(WeightFormat.Fp8, wCodes, wScaleBytes, outFeatures, inFeatures, inFeatures);
        Compare.Close(actual, KernelReferences.Linear(x, weights, rows, inFeatures, outFeatures), 6e-2, $"W8A8 against bf16 activations, {shape}");
    }

    /// <summary>The fused gate/up epilogue: silu(g)·u of the scaled halves; as the plain product plus one bf16 rounding of a smooth function: 1e-2.</summary>
    [Theory]
    [InlineData(45, 256, 48)]
    [InlineData(130, 4096, 128)]
    public void GateUpSilu_RandomShapes_MatchesTheTwin(int rows, int inFeatures, int ff)
    {
        RequireFp8();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var gemm = Create(rows, inFeatures);
        var (wCodes, wScaleBytes) = QuantLayouts.Random(random, WeightFormat.Fp8, 2 * ff, inFeatures, inFeatures);
        var x = Bf16.Random(random, rows * inFeatures);
        using var dCodes = gpu.Upload<byte>(wCodes);
        using var dScales = gpu.Upload<byte>(wScaleBytes);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dScratch = gpu.Allocate<ushort>(rows * 2 * ff);
        using var dOut = gpu.Allocate<ushort>(rows * ff);
        var weight = new LinearWeight(dCodes.Pointer, dScales.Pointer, WeightFormat.Fp8, inFeatures);
        Assert.True(gemm.CanRun(weight, dScratch.Pointer, rows, inFeatures, 2 * ff), $"W8A8 refused the gate/up shape: {gemm.FallbackReason}");
        Assert.True(gemm.TryGateUpSilu(weight, dX.Pointer, dScratch.Pointer, dOut.Pointer, rows, inFeatures, ff), gemm.FallbackReason);

        var (aCodes, aScales) = Fp8.QuantizeTokens(x, rows, inFeatures);
        var gateUp = Product(aCodes, aScales, wCodes, MemoryMarshal.Cast<byte, float>(wScaleBytes).ToArray(), rows, inFeatures, 2 * ff);
        var expected = KernelReferences.SiluMul(gateUp, rows, ff);
        Compare.Close(Bf16.FromBits(gpu.Download<ushort>(dOut, rows * ff)), expected, 1e-2, $"W8A8 gate/up + SwiGLU {rows}x{inFeatures}->2x{ff} (seed {seed})");
    }

    [Fact]
    public void CanRun_WidthsOrRowsOutsideWhatItTakes_Refuses()
    {
        RequireFp8();
        using var gemm = Create(64, 256);
        var weight = new LinearWeight(0x1000, 0x2000, WeightFormat.Fp8, 256);
        Assert.False(gemm.CanRun(weight, 0x3000, 65, 256, 64)); // more rows than the buffers hold
        Assert.False(gemm.CanRun(weight, 0x3000, 32, 512, 64)); // wider than the buffers
        Assert.False(gemm.CanRun(weight with { GroupWidth = 40 }, 0x3000, 32, 40, 64)); // not whole 16-byte rows
        Assert.False(gemm.CanRun(weight, 0x3000, 32, 256, 40));
        Assert.False(gemm.CanRun(weight with { Format = WeightFormat.Int8 }, 0x3000, 32, 256, 64));
        Assert.False(gemm.CanRun(weight, 0x3008, 32, 256, 64)); // an output only 8-byte aligned
        Assert.NotNull(gemm.FallbackReason);
        Assert.True(gemm.CanRun(weight, 0x3000, 32, 256, 64));
    }

    /// <summary>out[t, n] = a_scale[t] · w_scale[n] · Σ_k e4m3(aq[t, k]) · e4m3(wq[n, k]), in fp64.</summary>
    private static float[] Product(byte[] aCodes, float[] aScales, byte[] wCodes, float[] wScales, int rows, int inFeatures, int outFeatures)
    {
        var a = aCodes.Select(c => (double)Fp8E4M3.ToFloat(c)).ToArray();
        var w = wCodes.Select(c => (double)Fp8E4M3.ToFloat(c)).ToArray();
        var y = new float[rows * outFeatures];
        Parallel.For(0, rows, t =>
        {
            for (var n = 0; n < outFeatures; n++)
            {
                double sum = 0;
                for (var k = 0; k < inFeatures; k++)
                {
                    sum += a[(t * inFeatures) + k] * w[(n * inFeatures) + k];
                }

                y[(t * outFeatures) + n] = (float)(sum * aScales[t] * wScales[n]);
            }
        });
        return y;
    }

    private static void RequireFp8()
    {
        Gpu.Require();
        Assert.SkipUnless(Gpu.SupportsFp8, "W8A8 needs FP8 tensor cores (sm_89+)");
    }

    private Fp8Gemm Create(int rows, int inFeatures)
    {
        var gemm = Fp8Gemm.TryCreate(gpu.Device, gpu.Stream, gpu.Compiler, rows, inFeatures, _ => { }, out var why);
        Assert.True(gemm is not null, $"no W8A8 path on an FP8-capable GPU: {why}");
        return gemm;
    }
}
