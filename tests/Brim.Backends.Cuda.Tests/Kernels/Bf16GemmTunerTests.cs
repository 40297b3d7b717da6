using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>
/// The cuBLASLt side of bf16 products (<see cref="Bf16LtGemm"/>, <see cref="Bf16GemmTuner"/>) against cublasGemmEx,
/// which computes the same product with an algorithm of its own choosing: every heuristic candidate, and the tuner's
/// dispatch, give GemmEx's result within rounding. The candidates differ from GemmEx only in summation order (split-K
/// included) over fp32 partial sums: a bf16 output differs by at most a rounding either way (2⁻⁸ relative, about 0.2 %
/// RMS): 1e-2; an fp32 output by fp32 summation error: 1e-4.
/// </summary>
public class Bf16GemmTunerTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    /// <summary>Multiply-adds the single-threaded CPU reference does in well under a second; larger products are checked against GemmEx only.</summary>
    private const long MaxCpuProduct = 1L << 28;

    [Theory]
    [InlineData(4, 256, 512, false)]
    [InlineData(64, 1024, 4096, false)]
    [InlineData(256, 6144, 4096, false)]
    [InlineData(512, 4096, 14336, false)]
    [InlineData(8, 1000, 256, true)]
    [InlineData(384, 2048, 1024, true)]
    public void Candidates_RandomProducts_MatchGemmEx(int rows, int outFeatures, int inFeatures, bool fp32Output)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var shape = new GemmShape(rows, outFeatures, inFeatures, fp32Output);
        var what = $"{shape} (seed {seed})";
        using var blas = new CublasHandle(gpu.Device, gpu.Stream);
        using var tuner = new Bf16GemmTuner(gpu.Device, gpu.Stream, blas, CreateLt());
        using var w = gpu.Upload<ushort>(Bf16.ToBits(Bf16.Random(random, outFeatures * inFeatures)));
        using var x = gpu.Upload<ushort>(Bf16.ToBits(Bf16.Random(random, rows * inFeatures)));
        var outputBytes = (fp32Output ? 4L : 2L) * rows * outFeatures;
        using var expected = gpu.Allocate<byte>(outputBytes);
        using var actual = gpu.Allocate<byte>(outputBytes);
        blas.Linear(w.Pointer, x.Pointer, expected.Pointer, rows, inFeatures, outFeatures, fp32Output);
        var want = Output(expected, shape);

        using var lt = CreateLt();
        var candidates = lt.Candidates(shape);
        Assert.True(candidates.Count > 0, $"cuBLASLt offers no bf16 algorithm for {what}");
        foreach (var candidate in candidates)
        {
            gpu.Stream.Fill(actual.Pointer, 0xFF, outputBytes); // poison: the candidate must write every element
            if (lt.Run(shape, candidate, w.Pointer, x.Pointer, actual.Pointer) == 0)
            {
                Compare.Close(Output(actual, shape), want, Tolerance(fp32Output), $"{candidate} against GemmEx, {what}");
            }
        }

        var tuning = tuner.Tune(shape, [w.Pointer], x.Pointer, actual.Pointer);
        Assert.True(tuning.Best is not null, $"no cuBLASLt candidate ran for {what}");
        Assert.True(double.IsFinite(tuning.GemmExMicroseconds) && tuning.GemmExMicroseconds > 0, tuning.ToString());
        tuner.PreferLt = true;
        gpu.Stream.Fill(actual.Pointer, 0xFF, outputBytes);
        Assert.True(tuner.TryLinear(w.Pointer, x.Pointer, actual.Pointer, rows, inFeatures, outFeatures, fp32Output), tuner.FallbackReason ?? tuning.ToString());
        Assert.Equal(1, tuner.LtProducts);
        Compare.Close(Output(actual, shape), want, Tolerance(fp32Output), $"the tuner's {tuning.Best} against GemmEx, {what}");
        if ((long)rows * outFeatures * inFeatures <= MaxCpuProduct)
        {
            var reference = KernelReferences.Linear(
                Bf16.FromBits(gpu.Download<ushort>(x, rows * inFeatures)), Bf16.FromBits(gpu.Download<ushort>(w, outFeatures * inFeatures)), rows, inFeatures, outFeatures);
            Compare.Close(want, reference, 1e-2, $"GemmEx against the CPU, {what}");
        }
    }

    [Fact]
    public void TryLinear_UntunedShapeOrUnalignedOperands_LeavesTheProductToGemmEx()
    {
        const int rows = 16, outFeatures = 512, inFeatures = 256;
        using var blas = new CublasHandle(gpu.Device, gpu.Stream);
        using var tuner = new Bf16GemmTuner(gpu.Device, gpu.Stream, blas, CreateLt());
        using var w = gpu.Allocate<ushort>(outFeatures * inFeatures);
        using var x = gpu.Allocate<ushort>(rows * inFeatures);
        using var y = gpu.Allocate<float>(rows * outFeatures);
        gpu.Stream.Fill(w.Pointer, 0x3C, w.Bytes);
        gpu.Stream.Fill(x.Pointer, 0x3C, x.Bytes);
        tuner.Tune(new GemmShape(rows, outFeatures, inFeatures, false), [w.Pointer], x.Pointer, y.Pointer);
        tuner.PreferLt = true;

        Assert.False(tuner.TryLinear(w.Pointer, x.Pointer, y.Pointer, rows + 1, inFeatures, outFeatures, false)); // other rows
        Assert.False(tuner.TryLinear(w.Pointer, x.Pointer, y.Pointer, rows, inFeatures, outFeatures, true)); // fp32 output: another shape
        Assert.False(tuner.TryLinear(w.Pointer, x.Pointer, y.Pointer + 2, rows, inFeatures, outFeatures, false)); // output 2-byte aligned
        Assert.True(tuner.TryLinear(w.Pointer, x.Pointer, y.Pointer, rows, inFeatures, outFeatures, false));
        tuner.PreferLt = false;
        Assert.Equal(tuner.Tunings.Single().UsesLt, tuner.TryLinear(w.Pointer, x.Pointer, y.Pointer, rows, inFeatures, outFeatures, false));
        gpu.Stream.Synchronize();
    }

    private static double Tolerance(bool fp32Output) => fp32Output ? 1e-4 : 1e-2;

    private Bf16LtGemm CreateLt()
    {
        var lt = Bf16LtGemm.TryCreate(gpu.Device, gpu.Stream, out var why);
        Assert.True(lt is not null, $"no cuBLASLt beside cuBLAS: {why}");
        return lt;
    }

    private float[] Output(DeviceBuffer y, GemmShape shape) => shape.Fp32Output
        ? gpu.Download<float>(y, (long)shape.Rows * shape.OutFeatures)
        : Bf16.FromBits(gpu.Download<ushort>(y, (long)shape.Rows * shape.OutFeatures));
}
