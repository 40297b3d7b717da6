using System.Runtime.InteropServices;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>
/// quant_gemv.cu (every format, rows 1..8, plain / fp32 / residual / fused SwiGLU) and the dequantize kernel against
/// the fp64 product of the CPU twin's weights (<see cref="QuantLayouts"/>) on random codes and scales.
/// </summary>
public class QuantGemvKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(WeightQuantization.Int4, 1, 4096, 64, 128, false)]
    [InlineData(WeightQuantization.Int4, 3, 256, 40, 32, true)]
    [InlineData(WeightQuantization.Int4, 8, 14336, 16, 128, false)]
    [InlineData(WeightQuantization.Int4, 5, 512, 36, 512, false)]
    [InlineData(WeightQuantization.Int8, 1, 4096, 64, 4096, false)]
    [InlineData(WeightQuantization.Int8, 7, 896, 30, 16, true)]
    [InlineData(WeightQuantization.Int8, 8, 128, 98, 128, false)]
    [InlineData(WeightQuantization.Fp8, 1, 4096, 64, 4096, true)]
    [InlineData(WeightQuantization.Fp8, 4, 48, 18, 48, false)]
    [InlineData(WeightQuantization.Fp8, 8, 14336, 10, 14336, false)]
    public void Linear_RandomLayouts_MatchesReference(WeightQuantization quantization, int rows, int inFeatures, int outFeatures, int group, bool fp32Output)
    {
        var format = LinearWeight.FormatOf(quantization);
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new QuantGemvKernel(gpu.Device, gpu.Compiler, format);
        using var layout = new DeviceLayout(gpu, random, format, outFeatures, inFeatures, group);
        var x = Bf16.Random(random, rows * inFeatures);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        var expected = KernelReferences.Linear(x, layout.Floats, rows, inFeatures, outFeatures);
        var actual = RunLinear(kernel, layout.Weight, dX.Pointer, rows, inFeatures, outFeatures, fp32Output);
        Compare.Close(actual, expected, fp32Output ? 1e-5 : 5e-3, $"quant gemv {format} {rows}x{inFeatures}->{outFeatures} g{group} (seed {seed})");
    }

    /// <summary>
    /// Every split of a row group's chunks over warps, with chunk counts that do not divide evenly between them, a
    /// group that is not a power of two of chunks (the kernel's division path), and both the factored (chunk sums
    /// scaled once) and the per-weight scaling builds.
    /// </summary>
    [Theory]
    [InlineData(WeightQuantization.Int4, 1, 2560, 64, 128, false)]
    [InlineData(WeightQuantization.Int4, 4, 2880, 40, 96, false)]
    [InlineData(WeightQuantization.Int4, 2, 2048, 24, 2048, true)]
    [InlineData(WeightQuantization.Int4, 6, 1280, 32, 64, false)]
    [InlineData(WeightQuantization.Int8, 3, 1600, 30, 32, false)]
    [InlineData(WeightQuantization.Int8, 1, 1440, 16, 48, true)]
    [InlineData(WeightQuantization.Fp8, 1, 2064, 18, 2064, false)]
    [InlineData(WeightQuantization.Fp8, 8, 4096, 10, 4096, true)]
    public void Linear_EverySplitAndBuild_MatchesReference(WeightQuantization quantization, int rows, int inFeatures, int outFeatures, int group, bool fp32Output)
    {
        var format = LinearWeight.FormatOf(quantization);
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var layout = new DeviceLayout(gpu, random, format, outFeatures, inFeatures, group);
        var x = Bf16.Random(random, rows * inFeatures);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        var expected = KernelReferences.Linear(x, layout.Floats, rows, inFeatures, outFeatures);
        foreach (var factored in new[] { true, false })
        {
            using var kernel = new QuantGemvKernel(gpu.Device, gpu.Compiler, format, factored, tensorCores: false);
            foreach (var split in new[] { 1, 2, 4, 8 })
            {
                var actual = RunLinear(kernel, layout.Weight, dX.Pointer, rows, inFeatures, outFeatures, fp32Output, split);
                Compare.Close(actual, expected, fp32Output ? 1e-5 : 5e-3, $"quant gemv {format} {rows}x{inFeatures}->{outFeatures} g{group} split {split} factored {factored} (seed {seed})");
            }
        }
    }

    [Theory]
    [InlineData(WeightQuantization.Int4, 3, 2560, 20, 128)]
    [InlineData(WeightQuantization.Int8, 1, 4096, 12, 4096)]
    public void GateUpSilu_EverySplit_MatchesSwiGluOfReference(WeightQuantization quantization, int rows, int inFeatures, int ff, int group)
    {
        var format = LinearWeight.FormatOf(quantization);
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new QuantGemvKernel(gpu.Device, gpu.Compiler, format);
        using var layout = new DeviceLayout(gpu, random, format, 2 * ff, inFeatures, group);
        var x = Bf16.Random(random, rows * inFeatures);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        var expected = KernelReferences.SiluMul(KernelReferences.Linear(x, layout.Floats, rows, inFeatures, 2 * ff), rows, ff);
        foreach (var split in new[] { 1, 2, 4, 8 })
        {
            using var dY = gpu.Allocate<ushort>(rows * ff);
            kernel.GateUpSilu(gpu.Stream, layout.Weight, dX.Pointer, dY.Pointer, rows, inFeatures, ff, split);
            Compare.Close(Bf16.FromBits(gpu.Download<ushort>(dY, rows * ff)), expected, 5e-3, $"quant gate/up {format} split {split} (seed {seed})");
        }
    }

    /// <summary>
    /// quant_gemv_mma.cu (int4 and FP8 on tensor cores) at every tile count and split, 1 to 32 token rows (one, two and
    /// four n8 tiles of tokens, partly filled): steps that do not divide evenly between the split's warps (20 steps over
    /// 8), int4 groups of one step, of two, of three (the kernel's division path) and of the whole row, each output mode
    /// and the fused SwiGLU.
    /// </summary>
    [Theory]
    [InlineData(WeightQuantization.Int4, 1, 2560, 64, 128, "bf16")]
    [InlineData(WeightQuantization.Int4, 8, 2560, 32, 256, "fp32")]
    [InlineData(WeightQuantization.Int4, 3, 1536, 48, 384, "residual")]
    [InlineData(WeightQuantization.Int4, 5, 4096, 64, 4096, "gated")]
    [InlineData(WeightQuantization.Int4, 2, 512, 16, 128, "gated")]
    [InlineData(WeightQuantization.Int4, 7, 896, 96, 128, "bf16")]
    [InlineData(WeightQuantization.Fp8, 1, 2560, 64, 2560, "fp32")]
    [InlineData(WeightQuantization.Fp8, 8, 1536, 32, 1536, "bf16")]
    [InlineData(WeightQuantization.Fp8, 4, 896, 48, 896, "residual")]
    [InlineData(WeightQuantization.Fp8, 6, 4096, 24, 4096, "gated")]
    [InlineData(WeightQuantization.Int4, 12, 1024, 32, 128, "fp32")]
    [InlineData(WeightQuantization.Int4, 16, 2560, 48, 256, "gated")]
    [InlineData(WeightQuantization.Int4, 27, 1536, 64, 128, "residual")]
    [InlineData(WeightQuantization.Fp8, 32, 1024, 32, 1024, "bf16")]
    [InlineData(WeightQuantization.Fp8, 19, 2048, 16, 2048, "gated")]
    [InlineData(WeightQuantization.Int8, 1, 4096, 64, 4096, "bf16")]
    [InlineData(WeightQuantization.Int8, 9, 1536, 32, 128, "fp32")]
    [InlineData(WeightQuantization.Int8, 4, 1152, 48, 384, "residual")]
    [InlineData(WeightQuantization.Int8, 24, 2048, 16, 256, "gated")]
    public void TensorCores_EveryTileAndSplit_MatchesReference(WeightQuantization quantization, int rows, int inFeatures, int outputs, int group, string mode)
    {
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var gated = mode == "gated";
        var format = LinearWeight.FormatOf(quantization);
        using var kernel = new QuantGemvKernel(gpu.Device, gpu.Compiler, format);
        Assert.True(kernel.RunsOnTensorCores(outputs, inFeatures, group, gated), "the shape is meant for quant_gemv_mma.cu");
        using var layout = new DeviceLayout(gpu, random, format, gated ? 2 * outputs : outputs, inFeatures, group);
        var x = Bf16.Random(random, rows * inFeatures);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        var product = KernelReferences.Linear(x, layout.Floats, rows, inFeatures, gated ? 2 * outputs : outputs);
        var residual = Enumerable.Range(0, rows * outputs).Select(_ => (random.NextSingle() * 20) - 10).ToArray();
        foreach (var tiles in QuantGemvKernel.MmaTileChoices.Where(t => outputs % (t * (gated ? 8 : 16)) == 0))
        {
            foreach (var split in new[] { 1, 2, 4, 8 })
            {
                var what = $"quant gemv mma {format} {mode} {rows}x{inFeatures}->{outputs} g{group} tiles {tiles} split {split} (seed {seed})";
                switch (mode)
                {
                    case "gated":
                        using (var dY = gpu.Allocate<ushort>(rows * outputs))
                        {
                            kernel.GateUpSilu(gpu.Stream, layout.Weight, dX.Pointer, dY.Pointer, rows, inFeatures, outputs, split, tiles);
                            Compare.Close(Bf16.FromBits(gpu.Download<ushort>(dY, rows * outputs)), KernelReferences.SiluMul(product, rows, outputs), 5e-3, what);
                        }

                        break;
                    case "residual":
                        using (var dR = gpu.Upload<float>(residual))
                        {
                            kernel.AddInto(gpu.Stream, layout.Weight, dX.Pointer, dR.Pointer, rows, inFeatures, outputs, split, tiles);
                            Compare.Close(gpu.Download<float>(dR, rows * outputs), product.Select((p, i) => p + residual[i]).ToArray(), 1e-5, what);
                        }

                        break;
                    default:
                        var fp32 = mode == "fp32";
                        Compare.Close(RunLinear(kernel, layout.Weight, dX.Pointer, rows, inFeatures, outputs, fp32, split, tiles), product, fp32 ? 1e-5 : 5e-3, what);
                        break;
                }
            }
        }
    }

    /// <summary>The tensor-core path and quant_gemv.cu's CUDA-core products agree on the same weight (fp32 out).</summary>
    [Theory]
    [InlineData(WeightQuantization.Int4, 128)]
    [InlineData(WeightQuantization.Fp8, 4096)]
    [InlineData(WeightQuantization.Int8, 4096)]
    [InlineData(WeightQuantization.Int8, 128)]
    public void TensorCores_AgainstCudaCores_SameProducts(WeightQuantization quantization, int group)
    {
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var format = LinearWeight.FormatOf(quantization);
        using var mma = new QuantGemvKernel(gpu.Device, gpu.Compiler, format);
        using var cores = new QuantGemvKernel(gpu.Device, gpu.Compiler, format, tensorCores: false);
        Assert.True(mma.UsesTensorCores);
        Assert.False(cores.UsesTensorCores);
        using var layout = new DeviceLayout(gpu, random, format, 256, 4096, group);
        foreach (var rows in new[] { 1, 4, 8 })
        {
            var x = Bf16.Random(random, rows * 4096);
            using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
            var a = RunLinear(mma, layout.Weight, dX.Pointer, rows, 4096, 256, fp32Output: true);
            var b = RunLinear(cores, layout.Weight, dX.Pointer, rows, 4096, 256, fp32Output: true);
            Compare.Close(a, b, 1e-5, $"{format} tensor cores vs CUDA cores, {rows} rows (seed {seed})");
        }
    }

    [Fact]
    public void MaxRowsFor_TensorCoreShapes_TakeUpTo32Rows()
    {
        Gpu.Require();
        using var int4 = new QuantGemvKernel(gpu.Device, gpu.Compiler, WeightFormat.Int4);
        using var cores = new QuantGemvKernel(gpu.Device, gpu.Compiler, WeightFormat.Int4, tensorCores: false);
        Assert.Equal(QuantGemvKernel.MmaMaxRows, int4.MaxRowsFor(4096, 4096, 128, gated: false));
        Assert.Equal(QuantGemvKernel.MaxRows, int4.MaxRowsFor(4096, 4096, 64, gated: false)); // groups of half a step
        Assert.Equal(QuantGemvKernel.MaxRows, int4.MaxRowsFor(40, 4096, 128, gated: false));  // not whole m16 tiles
        Assert.Equal(QuantGemvKernel.MmaMaxRows, int4.MaxRowsFor(40, 4096, 128, gated: true)); // 8 outputs a gated tile
        Assert.Equal(QuantGemvKernel.MaxRows, cores.MaxRowsFor(4096, 4096, 128, gated: false));
    }

    [Fact]
    public void MmaSplitFor_Llama8BShapes_AboutOneAndAHalfBlocksAnSmAndFourStepsAWarp()
    {
        // 132 SMs (H100): the fewest warps a row group that give 185+ blocks, as measured best.
        Assert.Equal(4, QuantGemvKernel.MmaSplitFor(4096, 6144, 16, 132));   // qkv: 192 blocks
        Assert.Equal(8, QuantGemvKernel.MmaSplitFor(4096, 4096, 16, 132));   // o: 256
        Assert.Equal(1, QuantGemvKernel.MmaSplitFor(4096, 14336, 8, 132));   // gate_up (8 outputs a gated tile): 224
        Assert.Equal(8, QuantGemvKernel.MmaSplitFor(14336, 4096, 16, 132));  // down: 256
        Assert.Equal(8, QuantGemvKernel.MmaSplitFor(4096, 6144, 32, 132));   // qkv at 2 tiles a warp: 192
        // Never fewer than four steps a warp, however few the blocks.
        Assert.Equal(4, QuantGemvKernel.MmaSplitFor(2048, 64, 16, 132));     // 16 steps
        Assert.Equal(1, QuantGemvKernel.MmaSplitFor(512, 64, 16, 132));      // 4 steps
    }

    [Fact]
    public void SplitFor_Llama8BShapes_SplitsOnlyLongRowsAtOneTokenRow()
    {
        Assert.Equal(2, QuantGemvKernel.SplitFor(WeightFormat.Int4, 14336, tokenRows: 1));  // down: 448 chunks
        Assert.Equal(2, QuantGemvKernel.SplitFor(WeightFormat.Fp8, 14336, tokenRows: 1));   // 896 chunks
        Assert.Equal(1, QuantGemvKernel.SplitFor(WeightFormat.Int4, 4096, tokenRows: 1));   // 128 chunks
        Assert.Equal(1, QuantGemvKernel.SplitFor(WeightFormat.Int8, 4096, tokenRows: 1));   // 256 chunks
        Assert.Equal(1, QuantGemvKernel.SplitFor(WeightFormat.Int4, 14336, tokenRows: 4));
    }

    [Theory]
    [InlineData(WeightQuantization.Int4, 1, 4096, 96, 128)]
    [InlineData(WeightQuantization.Int4, 6, 256, 20, 64)]
    [InlineData(WeightQuantization.Int8, 8, 512, 24, 512)]
    [InlineData(WeightQuantization.Fp8, 2, 4096, 33, 4096)]
    public void GateUpSilu_RandomLayouts_MatchesSwiGluOfReference(WeightQuantization quantization, int rows, int inFeatures, int ff, int group)
    {
        var format = LinearWeight.FormatOf(quantization);
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new QuantGemvKernel(gpu.Device, gpu.Compiler, format);
        using var layout = new DeviceLayout(gpu, random, format, 2 * ff, inFeatures, group);
        var x = Bf16.Random(random, rows * inFeatures);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dY = gpu.Allocate<ushort>(rows * ff);
        kernel.GateUpSilu(gpu.Stream, layout.Weight, dX.Pointer, dY.Pointer, rows, inFeatures, ff);
        var product = KernelReferences.Linear(x, layout.Floats, rows, inFeatures, 2 * ff);
        Compare.Close(Bf16.FromBits(gpu.Download<ushort>(dY, rows * ff)), KernelReferences.SiluMul(product, rows, ff), 5e-3, $"quant gate/up {format} (seed {seed})");
    }

    [Theory]
    [InlineData(WeightQuantization.Int4, 2, 4096, 128, 128)]
    [InlineData(WeightQuantization.Int8, 5, 320, 32, 64)]
    [InlineData(WeightQuantization.Fp8, 8, 1024, 12, 1024)]
    public void AddInto_Residual_AddsProductInPlace(WeightQuantization quantization, int rows, int inFeatures, int outFeatures, int group)
    {
        var format = LinearWeight.FormatOf(quantization);
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new QuantGemvKernel(gpu.Device, gpu.Compiler, format);
        using var layout = new DeviceLayout(gpu, random, format, outFeatures, inFeatures, group);
        var x = Bf16.Random(random, rows * inFeatures);
        var residual = Enumerable.Range(0, rows * outFeatures).Select(_ => (random.NextSingle() * 20) - 10).ToArray();
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dResidual = gpu.Upload<float>(residual);
        kernel.AddInto(gpu.Stream, layout.Weight, dX.Pointer, dResidual.Pointer, rows, inFeatures, outFeatures);
        var product = KernelReferences.Linear(x, layout.Floats, rows, inFeatures, outFeatures);
        Compare.Close(gpu.Download<float>(dResidual, rows * outFeatures), product.Select((p, i) => p + residual[i]).ToArray(), 1e-5, $"quant residual add {format} (seed {seed})");
    }

    [Theory]
    [InlineData(WeightQuantization.Int4, 40, 4096, 128)]
    [InlineData(WeightQuantization.Int4, 7, 96, 32)]
    [InlineData(WeightQuantization.Int8, 33, 512, 16)]
    [InlineData(WeightQuantization.Fp8, 20, 4096, 4096)]
    public void Dequantize_RandomLayouts_WritesTheTwinsWeightsInBf16(WeightQuantization quantization, int rows, int inFeatures, int group)
    {
        var format = LinearWeight.FormatOf(quantization);
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernels = new QuantizeKernels(gpu.Device, gpu.Compiler);
        using var layout = new DeviceLayout(gpu, random, format, rows, inFeatures, group);
        using var dOut = gpu.Allocate<ushort>(rows * inFeatures);
        kernels.Dequantize(gpu.Stream, layout.Weight, dOut.Pointer, rows, inFeatures);
        var expected = layout.Floats.Select(Bf16.Round).ToArray();
        Assert.Equal(expected, Bf16.FromBits(gpu.Download<ushort>(dOut, rows * inFeatures)));
    }

    [Fact]
    public void Fits_RowsAndOutputs_RejectsWhatTheKernelCannotTile()
    {
        Assert.True(QuantGemvKernel.Fits(1, 4096, WeightFormat.Int4));
        Assert.True(QuantGemvKernel.Fits(QuantGemvKernel.MaxRows, 6, WeightFormat.Int8));
        Assert.False(QuantGemvKernel.Fits(QuantGemvKernel.MaxRows + 1, 4096, WeightFormat.Int4));
        Assert.False(QuantGemvKernel.Fits(1, 6, WeightFormat.Int4));
        Assert.True(QuantGemvKernel.Fits(1, 6, WeightFormat.Int4, gated: true));
        Assert.False(QuantGemvKernel.Fits(0, 4096, WeightFormat.Fp8));
    }

    /// <summary>y = x · wᵀ on the kernel, downloaded as floats (bf16 output widened).</summary>
    private float[] RunLinear(QuantGemvKernel kernel, LinearWeight w, ulong x, int rows, int inFeatures, int outFeatures, bool fp32Output, int split = 0, int tiles = 0)
    {
        if (fp32Output)
        {
            using var dY = gpu.Allocate<float>(rows * outFeatures);
            kernel.Linear(gpu.Stream, w, x, dY.Pointer, rows, inFeatures, outFeatures, fp32Output: true, split: split, tiles: tiles);
            return gpu.Download<float>(dY, rows * outFeatures);
        }

        using var dB = gpu.Allocate<ushort>(rows * outFeatures);
        kernel.Linear(gpu.Stream, w, x, dB.Pointer, rows, inFeatures, outFeatures, split: split, tiles: tiles);
        return Bf16.FromBits(gpu.Download<ushort>(dB, rows * outFeatures));
    }
}
