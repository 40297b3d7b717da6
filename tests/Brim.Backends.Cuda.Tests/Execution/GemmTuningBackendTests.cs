using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Execution;

/// <summary>
/// Startup tuning changes which algorithm computes a decode step's products, not what they compute: the logits of
/// decode steps (the first of a bucket eager, then captured and replayed as CUDA graphs) with every tuned shape forced
/// onto its cuBLASLt algorithm are within rounding of the same model with tuning off. Products differ in summation
/// order only; through two layers and an fp32 residual stream that stays well under 1e-2 relative.
/// </summary>
public class GemmTuningBackendTests
{
    [Theory]
    [InlineData(3, false)] // bucket 4: gemv's limit is 2 rows, so every projection and lm_head runs through cuBLAS
    [InlineData(40, false)] // bucket 64
    [InlineData(40, true)] // int4 projections past quant_mma.cu's 32 rows: dequantized for cuBLAS, then the tuned algorithm
    public void DecodeSteps_TunedLt_SameLogitsAsGemmEx(int sequences, bool int4Weights)
    {
        Gpu.Require();
        // gate/up [4096, 512] is 4 MiB, the least the tuner takes (Bf16GemmTuner.MinWeightBytes); the other weights stay on GemmEx.
        var config = RandomModels.Llama3Like() with { HiddenSize = 512, IntermediateSize = 2048, NumHeads = 4, NumKvHeads = 2, HeadDim = 128 };
        var seed = Gpu.NewSeed();
        using var weights = RandomModels.Create(config, new Random(seed));
        var quantization = int4Weights
            ? new ModelQuantization { Kind = WeightQuantization.Int4, StoredBytes = 0, Unquantized = weights, Description = "int4 (test)" }
            : null;
        using var tuned = new CudaBackend(config, weights, new CudaBackendOptions { UseGemmTuning = true, GemmTuningFile = string.Empty }, quantization);
        using var plain = new CudaBackend(config, weights, new CudaBackendOptions { UseGemmTuning = false }, quantization);
        Assert.Contains("tuned in", tuned.GemmTuningNote, StringComparison.Ordinal);
        Assert.Contains("off by option", plain.GemmTuningNote, StringComparison.Ordinal);
        Assert.Contains(tuned.GemmTunings, t => t.Shape.Rows == 64 && t.Shape.OutFeatures == 2 * config.IntermediateSize); // gate/up, bf16 or dequantized
        Assert.Empty(plain.GemmTunings);
        tuned.PreferTunedLt = true;

        const int steps = 4;
        var want = BackendSteps.Decode(plain, sequences, steps);
        var got = BackendSteps.Decode(tuned, sequences, steps);
        Assert.True(tuned.CapturedGraphs > 0, "no decode step was replayed as a graph");
        Assert.True(tuned.TunedGemmProducts > 0, $"no product ran on a tuned cuBLASLt algorithm: {tuned.GemmTuningNote}");
        Assert.Equal(0, plain.TunedGemmProducts);
        for (var step = 0; step < steps; step++)
        {
            Compare.Close(got[step], want[step], 1e-2, $"decode step {step} of {sequences} rows, int4 {int4Weights}, tuned cuBLASLt against GemmEx (seed {seed})");
        }
    }

    /// <summary>
    /// A second start with the first one's saved choices times nothing and runs the same algorithms: its decode steps'
    /// logits are the first start's bit for bit, with every tuned shape on its cuBLASLt algorithm.
    /// </summary>
    [Fact]
    public void Restart_SavedChoices_SameAlgorithmsUntimed()
    {
        Gpu.Require();
        var config = RandomModels.Llama3Like() with { HiddenSize = 512, IntermediateSize = 2048, NumHeads = 4, NumKvHeads = 2, HeadDim = 128 };
        var seed = Gpu.NewSeed();
        using var weights = RandomModels.Create(config, new Random(seed));
        var directory = Directory.CreateTempSubdirectory("brim-gemm-tuning-").FullName;
        try
        {
            var options = new CudaBackendOptions { UseGemmTuning = true, GemmTuningFile = Path.Combine(directory, "gemm-tuning.json") };
            using var first = new CudaBackend(config, weights, options);
            Assert.Contains("tuned in", first.GemmTuningNote, StringComparison.Ordinal);
            Assert.True(File.Exists(options.GemmTuningFile), first.GemmTuningNote);
            Assert.NotEmpty(first.GemmTunings);
            using var second = new CudaBackend(config, weights, options);
            Assert.Contains($"{first.GemmTunings.Count} as saved in {options.GemmTuningFile}, 0 timed", second.GemmTuningNote, StringComparison.Ordinal);
            Assert.Equal(first.GemmTunings.Select(Choice), second.GemmTunings.Select(Choice));

            first.PreferTunedLt = true;
            second.PreferTunedLt = true;
            var want = BackendSteps.Decode(first, 40, steps: 3);
            var got = BackendSteps.Decode(second, 40, steps: 3);
            Assert.True(second.TunedGemmProducts > 0, $"no product ran on a restored cuBLASLt algorithm: {second.GemmTuningNote}");
            for (var step = 0; step < want.Length; step++)
            {
                Assert.True(want[step].AsSpan().SequenceEqual(got[step]), $"decode step {step}: the restored algorithms computed other logits (seed {seed})");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        static string Choice(Brim.Backends.Cuda.Execution.GemmTuning t)
            => $"{t.Shape} {t.UsesLt} {(t.Best is null ? "-" : string.Join(',', t.Best.Descriptor))}";
    }
}
