using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>quant_mma.cu (tensor cores, every format) against the fp64 product of the CPU twin's weights on random layouts.</summary>
public class QuantMmaKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(WeightQuantization.Int4, 9, 4096, 64, 128)]
    [InlineData(WeightQuantization.Int4, 64, 256, 40, 32)]
    [InlineData(WeightQuantization.Int4, 100, 512, 48, 512)]
    [InlineData(WeightQuantization.Int4, 1, 14336, 16, 128)]
    [InlineData(WeightQuantization.Int8, 17, 4096, 30, 4096)]
    [InlineData(WeightQuantization.Int8, 33, 896, 64, 16)]
    [InlineData(WeightQuantization.Fp8, 12, 4096, 64, 4096)]
    [InlineData(WeightQuantization.Fp8, 130, 48, 18, 48)]
    public void Linear_RandomLayouts_MatchesReference(WeightQuantization quantization, int rows, int inFeatures, int outFeatures, int group)
    {
        Gpu.Require();
        var format = LinearWeight.FormatOf(quantization);
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new QuantMmaKernel(gpu.Device, gpu.Compiler, format);
        using var layout = new DeviceLayout(gpu, random, format, outFeatures, inFeatures, group);
        var x = Bf16.Random(random, rows * inFeatures);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dY = gpu.Allocate<ushort>(rows * outFeatures);
        kernel.Linear(gpu.Stream, layout.Weight, dX.Pointer, dY.Pointer, rows, inFeatures, outFeatures);

        // The fragments hold each weight rounded to bf16, so the product is the one of the bf16-rounded weights.
        var weights = layout.Floats.Select(Bf16.Round).ToArray();
        var expected = KernelReferences.Linear(x, weights, rows, inFeatures, outFeatures);
        Compare.Close(Bf16.FromBits(gpu.Download<ushort>(dY, rows * outFeatures)), expected, 5e-3, $"quant mma {format} {rows}x{inFeatures}->{outFeatures} g{group} (seed {seed})");
    }
}
