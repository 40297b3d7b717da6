using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Execution;

/// <summary>
/// A decode step split into two half-batches on two streams computes what the whole step computes: the logits of
/// decode steps of 300 sequences (bucket 384: halves of 192), the first of the bucket eager, then captured and replayed
/// as CUDA graphs whose two branches fork and join on events, against the same model with the lanes off. The halves'
/// products run at half the rows, on cuBLAS algorithms of their own, so the sums differ in order only: within 1e-2 of
/// the logits' norm, where a half reading the other's rows, a missed join or an offset off by a row errs by order 1.
/// </summary>
public class DecodeLanesTests
{
    [Theory]
    [InlineData(WeightQuantization.None)]
    [InlineData(WeightQuantization.Fp8)] // W8A8 on the lane's own activation buffers
    [InlineData(WeightQuantization.Int4)] // dequantized into the lane's own scratch
    public void DecodeSteps_TwoLanes_SameLogitsAsOneStream(WeightQuantization kind)
    {
        Gpu.Require();
        if (kind == WeightQuantization.Fp8)
        {
            Assert.SkipUnless(Gpu.SupportsFp8, "fp8 quantization needs sm_89+");
        }

        var config = RandomModels.Llama3Like();
        var seed = Gpu.NewSeed();
        using var weights = RandomModels.Create(config, new Random(seed));
        var quantization = kind == WeightQuantization.None
            ? null
            : new ModelQuantization { Kind = kind, StoredBytes = 0, Unquantized = weights, Description = $"{kind} (test)" };
        using var lanes = new CudaBackend(config, weights, new CudaBackendOptions { UseDecodeLanes = true }, quantization);
        using var plain = new CudaBackend(config, weights, new CudaBackendOptions { UseDecodeLanes = false }, quantization);

        const int sequences = 300, steps = 4;
        var want = BackendSteps.Decode(plain, sequences, steps);
        var got = BackendSteps.Decode(lanes, sequences, steps);
        Assert.Equal(steps, lanes.LanedSteps);
        Assert.Equal(0, plain.LanedSteps);
        Assert.True(lanes.CapturedGraphs > 0, "no laned step was replayed as a graph");
        for (var step = 0; step < steps; step++)
        {
            Compare.Close(got[step], want[step], 1e-2, $"{kind} decode step {step} of {sequences} rows, two lanes against one stream (seed {seed})");
        }
    }

    /// <summary>Steps below the lanes' bucket run whole: the path is taken by rows, nothing else.</summary>
    [Fact]
    public void DecodeSteps_BelowMinRows_RunOnOneStream()
    {
        Gpu.Require();
        var config = RandomModels.Llama3Like();
        using var weights = RandomModels.Create(config, new Random(Gpu.NewSeed()));
        using var lanes = new CudaBackend(config, weights, new CudaBackendOptions { UseDecodeLanes = true });
        BackendSteps.Decode(lanes, 100, steps: 2);
        Assert.Equal(0, lanes.LanedSteps);
    }
}
