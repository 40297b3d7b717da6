using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Backends.Cuda.TensorParallel;
using Brim.Tests;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.TensorParallel;

/// <summary>
/// The tensor-parallel CUDA backend against the whole model on one GPU: one rank through the NCCL path (collectives
/// over one rank are identities, so only the residual adds' rounding of the o and down products to bf16 differs), and
/// where the machine has them, 2 and 4 ranks against one (the o and down partial sums add in bf16: within bf16 noise).
/// Decode steps of several sequences (replayed as CUDA graphs from the second on), on random Llama (untied, 2 KV heads:
/// replicated over 4 ranks) and Qwen2 (q/k/v biases, tied embeddings, a vocabulary that does not divide) shapes.
/// </summary>
public class TensorParallelCudaTests
{
    [Theory]
    [InlineData(false, WeightQuantization.None)]
    [InlineData(true, WeightQuantization.None)]
    [InlineData(false, WeightQuantization.Int4)]
    public void OneRank_ThroughNccl_MatchesTheWholeModel(bool qwen2, WeightQuantization onLoad)
    {
        Gpu.Require();
        Assert.SkipUnless(TensorParallelCudaBackend.IsAvailable(1, out var why), why);
        var (config, seed) = (Shape(qwen2), Gpu.NewSeed());
        using var weights = RandomModels.Create(config, new Random(seed));
        var quantization = onLoad == WeightQuantization.None
            ? null
            : new ModelQuantization { Kind = onLoad, StoredBytes = 0, Unquantized = weights, Description = $"{onLoad} (test)" };
        using var whole = new CudaBackend(config, weights, quantization: quantization);
        using var ranks = TensorParallelCudaBackend.Create(new LoadedModel(config, weights, "random") { Quantization = quantization }, 1);
        Assert.Equal(whole.VocabSize, ranks.VocabSize);
        var want = BackendSteps.Decode(whole, sequences: 5, steps: 4);
        var got = BackendSteps.DecodeOn(ranks, sequences: 5, steps: 4);
        for (var step = 0; step < want.Length; step++)
        {
            Compare.Close(got[step], want[step], 1e-2, $"decode step {step}, 1 rank through NCCL against the whole model (seed {seed}, qwen2 {qwen2}, {onLoad})");
        }
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(2, true)]
    [InlineData(4, false)]
    public void Ranks_ThroughNccl_MatchOneRank(int worldSize, bool qwen2)
    {
        Gpu.Require();
        Assert.SkipUnless(TensorParallelCudaBackend.IsAvailable(worldSize, out var why), why);
        var (config, seed) = (Shape(qwen2), Gpu.NewSeed());
        using var weights = RandomModels.Create(config, new Random(seed));
        var model = new LoadedModel(config, weights, "random");
        float[][] want, got;
        using (var one = TensorParallelCudaBackend.Create(model, 1))
        {
            want = BackendSteps.DecodeOn(one, sequences: 7, steps: 4);
        }

        using (var ranks = TensorParallelCudaBackend.Create(model, worldSize))
        {
            Assert.Equal(worldSize, ranks.WorldSize);
            got = BackendSteps.DecodeOn(ranks, sequences: 7, steps: 4);
        }

        for (var step = 0; step < want.Length; step++)
        {
            Compare.Close(got[step], want[step], 1e-2, $"decode step {step}, {worldSize} ranks against 1 (seed {seed}, qwen2 {qwen2})");
        }
    }

    /// <summary>
    /// A quantized checkpoint's packed layers split as packed (QuantizedRankSlices): one rank through NCCL, and two where
    /// two GPUs are present, against the whole model on one CudaBackend, on the tiny checkpoints of each format.
    /// </summary>
    [Theory]
    [InlineData(PackedFormat.Awq)]
    [InlineData(PackedFormat.Gptq8)]
    [InlineData(PackedFormat.CompressedTensorsPerChannel)]
    public void PackedCheckpoint_Ranks_MatchTheWholeModel(PackedFormat format)
    {
        Gpu.Require();
        Assert.SkipUnless(TensorParallelCudaBackend.IsAvailable(1, out var why), why);
        if (format == PackedFormat.CompressedTensorsPerChannel)
        {
            Assert.SkipUnless(Gpu.SupportsFp8, "fp8 checkpoints need sm_89+");
        }

        var seed = Gpu.NewSeed();
        // int4 on CUDA takes groups of 32 inputs (the checkpoint helper writes 16), so AWQ is written with whole rows of
        // this 32-wide model as groups; two ranks would hold 16 inputs of o_proj each, less than a group: one rank only.
        var awq = format == PackedFormat.Awq;
        using var checkpoint = QuantizedCheckpoints.WriteAndLoad(format, seed, groupSize: awq ? 32 : QuantizedCheckpoints.GroupSize);
        var model = checkpoint.Model;
        float[][] want;
        using (var whole = new CudaBackend(model))
        {
            want = BackendSteps.Decode(whole, sequences: 5, steps: 3);
        }

        foreach (var worldSize in (awq ? new[] { 1 } : [1, 2]).Where(n => TensorParallelCudaBackend.IsAvailable(n, out _)))
        {
            using var ranks = TensorParallelCudaBackend.Create(model, worldSize);
            var got = BackendSteps.DecodeOn(ranks, sequences: 5, steps: 3);
            for (var step = 0; step < want.Length; step++)
            {
                Compare.Close(got[step], want[step], 1e-2, $"{format} decode step {step}, {worldSize} ranks against the whole model (seed {seed})");
            }
        }
    }

    [Fact]
    public void Create_MoreRanksThanGpus_RefusedNamingTheCount()
    {
        Gpu.Require();
        var devices = CudaDevice.Count();
        Assert.SkipWhen(devices >= 4, $"{devices} GPUs: 4 ranks fit");
        var config = Shape(qwen2: false);
        using var weights = RandomModels.Create(config, new Random(1));
        var refused = Assert.Throws<NotSupportedException>(() => TensorParallelCudaBackend.Create(new LoadedModel(config, weights, "random"), 4));
        Assert.Contains($"needs 4 GPUs, one a rank; {devices} present", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>head_dim 128 (the decode-attention kernels' shape), widths that split over 4 ranks.</summary>
    private static ModelConfig Shape(bool qwen2) => qwen2
        ? RandomModels.Qwen2Like() with { HiddenSize = 512, IntermediateSize = 1024, NumHeads = 4, NumKvHeads = 2, HeadDim = 128, VocabSize = 321 }
        : RandomModels.Llama3Like() with { HiddenSize = 512, IntermediateSize = 1024, NumHeads = 4, NumKvHeads = 2, HeadDim = 128 };
}
