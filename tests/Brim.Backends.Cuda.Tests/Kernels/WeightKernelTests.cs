using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>Dummy weight generation (bit-exact with the host generator), dtype conversion and the cuBLAS linear layer.</summary>
public class WeightKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData("model.layers.3.self_attn.q_proj.weight", 64, 4096, TensorDType.BF16)]
    [InlineData("model.embed_tokens.weight", 300, 896, TensorDType.BF16)]
    [InlineData("model.layers.0.input_layernorm.weight", 4096, 0, TensorDType.BF16)]
    [InlineData("model.layers.1.self_attn.k_proj.bias", 512, 0, TensorDType.F16)]
    public void DummyFill_Tensor_BitExactWithHostGenerator(string name, long rows, long cols, TensorDType dtype)
    {
        using var kernels = new WeightKernels(gpu.Device, gpu.Compiler);
        var seed = Gpu.NewSeed() - (int.MaxValue / 2); // negative seeds too: sign extension matters
        var info = new TensorInfo(name, dtype, cols == 0 ? [rows] : [rows, cols]);
        var kind = DummyWeights.KindOf(info);
        var count = info.ElementCount;
        using var buffer = gpu.Allocate<ushort>(count);
        var deviceKind = kind switch
        {
            DummyTensorKind.Norm => WeightKernels.DummyKind.NormWeight,
            DummyTensorKind.Bias => WeightKernels.DummyKind.Bias,
            _ => WeightKernels.DummyKind.Matrix,
        };
        kernels.DummyFill(gpu.Stream, buffer.Pointer, count, seed, DummyWeights.HashName(name), deviceKind, Math.Max(cols, 1), dtype == TensorDType.F16);
        var actual = gpu.Download<ushort>(buffer, count);

        var host = new float[count];
        DummyWeights.Fill(seed, info, 0, host);
        var stored = new byte[info.ByteCount];
        DTypeConversion.FromFloat32(host, dtype, stored);
        var widened = new float[count];
        DTypeConversion.ToFloat32(stored, dtype, widened);
        var expected = Bf16.ToBits(widened);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Convert_F32AndF16_RoundToNearestEvenBf16()
    {
        var random = new Random(Gpu.NewSeed());
        using var kernels = new WeightKernels(gpu.Device, gpu.Compiler);
        var values = Enumerable.Range(0, 10_000).Select(_ => (random.NextSingle() - 0.5f) * MathF.Pow(2, random.Next(-20, 20))).ToArray();
        using var dF32 = gpu.Upload<float>(values);
        using var dOut = gpu.Allocate<ushort>(values.Length);
        kernels.F32ToBf16(gpu.Stream, dF32.Pointer, dOut.Pointer, values.Length);
        Assert.Equal(Bf16.ToBits(values), gpu.Download<ushort>(dOut, values.Length));

        var halves = new byte[values.Length * 2];
        DTypeConversion.FromFloat32(values, TensorDType.F16, halves);
        var widened = new float[values.Length];
        DTypeConversion.ToFloat32(halves, TensorDType.F16, widened);
        using var dF16 = gpu.Upload<byte>(halves);
        kernels.F16ToBf16(gpu.Stream, dF16.Pointer, dOut.Pointer, values.Length);
        Assert.Equal(Bf16.ToBits(widened), gpu.Download<ushort>(dOut, values.Length));
    }

    [Theory]
    [InlineData(1, 512, 384, false)]
    [InlineData(37, 256, 1000, false)]
    [InlineData(8, 128, 320, true)]
    public void Linear_Bf16Operands_MatchesReference(int rows, int inFeatures, int outFeatures, bool fp32Output)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var blas = new CublasHandle(gpu.Device, gpu.Stream);
        var x = Bf16.Random(random, rows * inFeatures);
        var w = Bf16.Random(random, outFeatures * inFeatures);
        using var dX = gpu.Upload<ushort>(Bf16.ToBits(x));
        using var dW = gpu.Upload<ushort>(Bf16.ToBits(w));
        using var dY = gpu.Allocate<float>(rows * outFeatures);
        blas.Linear(dW.Pointer, dX.Pointer, dY.Pointer, rows, inFeatures, outFeatures, fp32Output);
        var actual = fp32Output ? gpu.Download<float>(dY, rows * outFeatures) : Bf16.FromBits(gpu.Download<ushort>(dY, rows * outFeatures));
        Compare.Close(actual, KernelReferences.Linear(x, w, rows, inFeatures, outFeatures), fp32Output ? 1e-4 : 5e-3, $"linear (seed {seed})");
    }
}
