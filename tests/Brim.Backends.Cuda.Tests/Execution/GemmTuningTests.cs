using System.Runtime.InteropServices;
using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Tests.Execution;

/// <summary>
/// What decides, without a GPU, which bf16 products run on a tuned cuBLASLt algorithm: the choice rule, the shapes a
/// decode step runs through cuBLAS, and the heuristic result's layout, which must be cublasLt.h's to the byte (cuBLASLt
/// writes an array of them).
/// </summary>
public class GemmTuningTests
{
    [Fact]
    public unsafe void HeuristicResult_Layout_MatchesCublasLtHeader()
    {
        // cublasLtMatmulAlgo_t algo (8 x uint64), size_t workspaceSize, cublasStatus_t state, float wavesCount, int reserved[4].
        Assert.Equal(96, sizeof(CublasLt.HeuristicResult));
        Assert.Equal(96, Marshal.SizeOf<CublasLt.HeuristicResult>());
        Assert.Equal(64, Marshal.OffsetOf<CublasLt.HeuristicResult>(nameof(CublasLt.HeuristicResult.WorkspaceSize)));
        Assert.Equal(72, Marshal.OffsetOf<CublasLt.HeuristicResult>(nameof(CublasLt.HeuristicResult.State)));
        Assert.Equal(76, Marshal.OffsetOf<CublasLt.HeuristicResult>(nameof(CublasLt.HeuristicResult.WavesCount)));
        Assert.Equal(80, Marshal.OffsetOf<CublasLt.HeuristicResult>(nameof(CublasLt.HeuristicResult.Reserved)));
    }

    [Theory]
    [InlineData(100.0, 99.0, false)] // within the timing noise: GemmEx stays
    [InlineData(100.0, 96.0, true)]
    [InlineData(100.0, 60.0, true)]
    [InlineData(100.0, 120.0, false)]
    public void UsesLt_AgainstGemmEx_OnlyAClearWin(double gemmEx, double lt, bool expected)
    {
        var tuning = new GemmTuning(new GemmShape(256, 4096, 4096, false), gemmEx, Algorithm(), lt, 8);
        Assert.Equal(expected, tuning.UsesLt);
        Assert.Equal(expected ? gemmEx / lt : 1.0, tuning.Speedup, 12);
    }

    [Fact]
    public void UsesLt_NoCandidateRan_KeepsGemmEx()
    {
        var tuning = new GemmTuning(new GemmShape(4, 128256, 4096, true), 350, null, double.NaN, 0);
        Assert.False(tuning.UsesLt);
        Assert.Equal(350, tuning.ChosenMicroseconds);
        Assert.Contains("GemmEx", tuning.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeShapes_Llama8BQkv_EveryBucketPastGemv()
    {
        var shapes = Bf16GemmTuner.DecodeShapes(6144, 4096, fp32Output: false, streamRows: 2).ToArray();
        Assert.Equal([4, 8, 16, 32, 64, 128, 256, 384, 512], shapes.Select(s => s.Rows));
        Assert.All(shapes, s => Assert.Equal((6144, 4096, false), (s.OutFeatures, s.InFeatures, s.Fp32Output)));
        Assert.Equal(DecodeGraphs.Buckets, Bf16GemmTuner.DecodeShapes(128256, 4096, fp32Output: true, streamRows: 0).Select(s => s.Rows));
    }

    [Fact]
    public void DecodeShapes_WeightUnderTheMinimum_NoneTuned()
    {
        Assert.Empty(Bf16GemmTuner.DecodeShapes(1024, 1024, fp32Output: false, streamRows: 2)); // 2 MiB
        Assert.NotEmpty(Bf16GemmTuner.DecodeShapes(2048, 1024, fp32Output: false, streamRows: 2)); // 4 MiB
    }

    [Fact]
    public void GemmShape_BytesAndFlops_CountWeightActivationsAndOutput()
    {
        var lmHead = new GemmShape(4, 128256, 4096, true);
        Assert.Equal(2L * 128256 * 4096, lmHead.WeightBytes);
        Assert.Equal(lmHead.WeightBytes + (2L * 4 * 4096) + (4L * 4 * 128256), lmHead.Bytes);
        Assert.Equal(2.0 * 4 * 128256 * 4096, lmHead.Flops);
    }

    [Fact]
    public void LtAlgorithm_DescriptorOfAnotherSize_IsRefused()
        => Assert.Throws<ArgumentException>(() => new LtAlgorithm(new ulong[7], 0, 1, 2, 1, 3));

    private static LtAlgorithm Algorithm() => new(new ulong[CublasLt.AlgoWords], 0, 6, 20, 1, 8);
}
