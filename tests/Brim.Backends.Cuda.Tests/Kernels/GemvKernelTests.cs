using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>The CUDA-core gemv (plain, fp32 output, residual add, fused SwiGLU) against the fp64 CPU product.</summary>
public class GemvKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(1, 64, 48, false)]
    [InlineData(3, 4096, 100, false)]
    [InlineData(8, 896, 1000, true)]
    [InlineData(7, 256, 40, false)]
    [InlineData(8, 14336, 64, true)]
    [InlineData(2, 8, 17, false)]
    public void Linear_RandomShapes_MatchesReference(int rows, int inFeatures, int outFeatures, bool fp32Output)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new GemvKernel(gpu.Device, gpu.Compiler);
        var x = Bf16.Random(random, rows * inFeatures);
        var w = Bf16.Random(random, outFeatures * inFeatures);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dW = gpu.Upload<ushort>(Bf16.ToBits(w));
        var expected = KernelReferences.Linear(x, w, rows, inFeatures, outFeatures);
        float[] actual;
        if (fp32Output)
        {
            using var dY = gpu.Allocate<float>(rows * outFeatures);
            kernel.Linear(gpu.Stream, dW.Pointer, dX.Pointer, dY.Pointer, rows, inFeatures, outFeatures, fp32Output: true);
            actual = gpu.Download<float>(dY, rows * outFeatures);
        }
        else
        {
            using var dY = gpu.Allocate<ushort>(rows * outFeatures);
            kernel.Linear(gpu.Stream, dW.Pointer, dX.Pointer, dY.Pointer, rows, inFeatures, outFeatures);
            actual = Bf16.FromBits(gpu.Download<ushort>(dY, rows * outFeatures));
        }

        Compare.Close(actual, expected, fp32Output ? 1e-5 : 5e-3, $"gemv {rows}x{inFeatures}->{outFeatures} (seed {seed})");
    }

    [Theory]
    [InlineData(1, 64, 172)]
    [InlineData(5, 4096, 200)]
    [InlineData(8, 512, 24)]
    public void GateUpSilu_RandomShapes_MatchesSwiGluOfReference(int rows, int inFeatures, int ff)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new GemvKernel(gpu.Device, gpu.Compiler);
        var x = Bf16.Random(random, rows * inFeatures);
        var gateUp = Bf16.Random(random, 2 * ff * inFeatures, 0.1f);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dW = gpu.Upload<ushort>(Bf16.ToBits(gateUp));
        using var dY = gpu.Allocate<ushort>(rows * ff);
        kernel.GateUpSilu(gpu.Stream, dW.Pointer, dX.Pointer, dY.Pointer, rows, inFeatures, ff);
        var product = KernelReferences.Linear(x, gateUp, rows, inFeatures, 2 * ff);
        var expected = KernelReferences.SiluMul(product, rows, ff);
        Compare.Close(Bf16.FromBits(gpu.Download<ushort>(dY, rows * ff)), expected, 5e-3, $"gate/up silu {rows}x{inFeatures}->{ff} (seed {seed})");
    }

    [Theory]
    [InlineData(1, 4096, 96)]
    [InlineData(6, 320, 33)]
    public void AddInto_Residual_AddsProductInPlace(int rows, int inFeatures, int outFeatures)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new GemvKernel(gpu.Device, gpu.Compiler);
        var x = Bf16.Random(random, rows * inFeatures);
        var w = Bf16.Random(random, outFeatures * inFeatures);
        var residual = Enumerable.Range(0, rows * outFeatures).Select(_ => (random.NextSingle() * 20) - 10).ToArray();
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dW = gpu.Upload<ushort>(Bf16.ToBits(w));
        using var dResidual = gpu.Upload<float>(residual);
        kernel.AddInto(gpu.Stream, dW.Pointer, dX.Pointer, dResidual.Pointer, rows, inFeatures, outFeatures);
        var product = KernelReferences.Linear(x, w, rows, inFeatures, outFeatures);
        var expected = product.Select((p, i) => p + residual[i]).ToArray();
        Compare.Close(gpu.Download<float>(dResidual, rows * outFeatures), expected, 1e-5, $"gemv residual add {rows}x{inFeatures}->{outFeatures} (seed {seed})");
    }

    [Fact]
    public void Fits_RowsAndColumns_RejectsWhatTheKernelCannotTile()
    {
        Assert.True(GemvKernel.Fits(1, 4096));
        Assert.True(GemvKernel.Fits(GemvKernel.MaxRows, 32));
        Assert.False(GemvKernel.Fits(GemvKernel.MaxRows + 1, 4096));
        Assert.False(GemvKernel.Fits(4, 4100));
        Assert.False(GemvKernel.Fits(0, 4096));
    }
}
