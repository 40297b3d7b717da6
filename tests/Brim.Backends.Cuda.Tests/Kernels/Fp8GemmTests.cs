using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>
/// The W8A8 product on cuBLASLt against its CPU twin: activations quantized per token to E4M3 (absmax / 448, as
/// quantize_tokens_fp8 does), times the FP8 weight with its per-row scales, in fp64.
/// </summary>
public class Fp8GemmTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(200, 4096, 256)]
    [InlineData(129, 512, 1024)]
    [InlineData(2048, 256, 48)]
    public void Linear_RandomLayouts_MatchesTheTwinWithQuantizedActivations(int rows, int inFeatures, int outFeatures)
    {
        Gpu.Require();
        Assert.SkipUnless(Gpu.SupportsFp8, "FP8 tensor cores need sm_89+");
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var quantize = new QuantizeKernels(gpu.Device, gpu.Compiler);
        using var gemm = Fp8Gemm.TryCreate(gpu.Device, gpu.Stream, quantize, gpu.Compiler.ComputeCapability, 256, inFeatures, out var why);
        Assert.SkipWhen(gemm is null, $"no cuBLASLt FP8 path here: {why}");
        var (codes, scales) = QuantLayouts.Random(random, WeightFormat.Fp8, outFeatures, inFeatures, inFeatures);
        var x = Bf16.Random(random, rows * inFeatures).Select(Bf16.Round).ToArray();
        using var dCodes = gpu.Upload<byte>(codes);
        using var dScales = gpu.Upload<byte>(scales);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dY = gpu.Allocate<ushort>(rows * outFeatures);
        Assert.True(gemm!.Supports(rows, inFeatures, outFeatures));
        gemm.Linear(new LinearWeight(dCodes.Pointer, dScales.Pointer, WeightFormat.Fp8, inFeatures), dX.Pointer, dY.Pointer, rows, inFeatures, outFeatures);

        var quantizedX = new float[x.Length];
        for (var r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * inFeatures, inFeatures);
            var scale = row.ToArray().Max(MathF.Abs) / Fp8E4M3.MaxValue;
            for (var i = 0; i < inFeatures; i++)
            {
                quantizedX[(r * inFeatures) + i] = scale == 0 ? 0 : Fp8E4M3.ToFloat(Fp8E4M3.FromFloat(row[i] / scale)) * scale;
            }
        }

        var weights = QuantLayouts.Dequantize(WeightFormat.Fp8, codes, scales, outFeatures, inFeatures, inFeatures);
        var expected = KernelReferences.Linear(quantizedX, weights, rows, inFeatures, outFeatures);
        Compare.Close(Bf16.FromBits(gpu.Download<ushort>(dY, rows * outFeatures)), expected, 5e-3, $"fp8 gemm {rows}x{inFeatures}->{outFeatures} (seed {seed})");
    }
}
