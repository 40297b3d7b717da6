using Brim.Backends.Cpu.Parallel;
using Brim.Core.Execution;
using Brim.Models;
using Brim.Tests;

namespace Brim.Backends.Cpu.Tests.Parallel;

/// <summary>
/// The sharded forward (<see cref="TensorParallelCpuBackend"/>) against the unsharded <see cref="CpuBackend"/> over a
/// ragged schedule of prefill chunks, multi-row logits and decode tokens (<see cref="RaggedSteps"/>).
/// </summary>
/// <remarks>
/// Tolerance. Every column-parallel output (q, k, v, gate, up, LM head rows) is computed by the very dot product the
/// unsharded backend computes, and the embedding's sum adds exact zeros, so one rank is bitwise equal (asserted). With
/// N ranks the o and down projections become N partial dot products over K/N features, summed in rank order: a
/// different rounding of the same sum, each output off by a few float32 ulps of the terms' magnitudes (~1e-7
/// relative per addition, ~K additions). Through the layers' norms and residuals these differences stay of that
/// order relative to the activations: measured here the largest difference is below 6e-7 × (1 + the largest |logit|)
/// (stories260K: 8e-6 on logits up to ~15). The bound, 1e-5 × (1 + max |logit|), leaves a factor of ten over that and
/// sits far below any real mistake: a wrong slice moves logits by O(1) (down_proj columns deliberately taken from the
/// neighbouring rank made the differences 0.4–20).
/// </remarks>
public sealed class TensorParallelForwardTests
{
    private const double RelativeTolerance = 1e-5;

    /// <summary>Qwen2's variations with shapes that split 8 ways: q/k/v biases, tied, KV heads replicated past 2 ranks, a vocabulary with a remainder.</summary>
    private static readonly ModelConfig Qwen2 = TestModels.Qwen2 with
    {
        HiddenSize = 40, IntermediateSize = 72, NumHeads = 8, NumKvHeads = 2, HeadDim = 6, MaxPositions = 64,
    };

    public static TheoryData<string, int> Cases => new()
    {
        { "stories260K", 1 }, { "stories260K", 2 }, { "stories260K", 4 },
        { nameof(TestModels.Llama31), 1 }, { nameof(TestModels.Llama31), 2 }, { nameof(TestModels.Llama31), 4 }, { nameof(TestModels.Llama31), 8 },
        { nameof(Qwen2), 1 }, { nameof(Qwen2), 2 }, { nameof(Qwen2), 4 }, { nameof(Qwen2), 8 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_RaggedSteps_MatchesUnsharded(string modelName, int ranks)
    {
        using var model = Load(modelName);
        var options = new CpuBackendOptions { ThreadCount = 2 };
        using var reference = CpuBackend.Create(model, options);
        using var sharded = TensorParallelCpuBackend.Create(model, ranks, options);
        Assert.Equal(ranks, sharded.WorldSize);

        var steps = RaggedSteps.Run([reference, sharded], model.Config.VocabSize);

        foreach (var logits in steps)
        {
            var (expected, actual) = (logits[0], logits[1]);
            Assert.Equal(expected.Length, actual.Length);
            if (ranks == 1)
            {
                Assert.Equal(expected, actual);
                continue;
            }

            var bound = RelativeTolerance * (1 + expected.Max(MathF.Abs));
            var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= bound, $"{modelName} over {ranks} ranks: logits differ by {worst:G3}, more than {bound:G3}");
        }
    }

    /// <summary>An int8 cache quantizes each (token, KV head) on its own, so splitting the heads keeps the same codes.</summary>
    [Fact]
    public void Forward_Int8KvCacheOverTwoRanks_MatchesUnshardedInt8()
    {
        using var model = Load("stories260K");
        var options = new CpuBackendOptions { ThreadCount = 2, KvCacheDType = KvCacheDType.Int8 };
        using var reference = CpuBackend.Create(model, options);
        using var sharded = TensorParallelCpuBackend.Create(model, 2, options);

        foreach (var logits in RaggedSteps.Run([reference, sharded], model.Config.VocabSize))
        {
            var bound = RelativeTolerance * (1 + logits[0].Max(MathF.Abs));
            Assert.All(logits[0].Zip(logits[1]), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= bound));
        }
    }

    /// <summary>
    /// A quantized checkpoint (AWQ, GPTQ) over two simulated ranks: the CPU dequantizes on load, so the ranks split the
    /// dequantized weights as they split float ones, and match the unsharded backend within the same bound.
    /// </summary>
    [Theory]
    [InlineData(PackedFormat.Awq)]
    [InlineData(PackedFormat.Gptq8)]
    public void Forward_QuantizedCheckpointOverTwoRanks_MatchesUnsharded(PackedFormat format)
    {
        using var checkpoint = QuantizedCheckpoints.WriteAndLoad(format);
        var model = checkpoint.Model;
        Assert.NotNull(model.Quantization);
        var options = new CpuBackendOptions { ThreadCount = 2 };
        using var reference = CpuBackend.Create(model, options);
        using var sharded = TensorParallelCpuBackend.Create(model, 2, options);
        foreach (var logits in RaggedSteps.Run([reference, sharded], model.Config.VocabSize))
        {
            var bound = RelativeTolerance * (1 + logits[0].Max(MathF.Abs));
            var worst = logits[0].Zip(logits[1], (e, a) => Math.Abs(e - a)).Max();
            Assert.True(worst <= bound, $"{format} over 2 ranks: logits differ by {worst:G3}, more than {bound:G3}");
        }
    }

    /// <summary>Each rank's cache holds its KV heads only: split heads add up to the whole cache, replicated ones count per replica.</summary>
    [Theory]
    [InlineData(2, 1)]
    [InlineData(4, 2)]
    [InlineData(8, 4)]
    public void KvBytesPerBlock_Llama31WithTwoKvHeads_IsTheWholeCacheTimesTheReplicas(int ranks, int replicas)
    {
        using var model = TestModels.Random(TestModels.Llama31);
        using var whole = CpuBackend.Create(model);
        using var sharded = TensorParallelCpuBackend.Create(model, ranks);

        Assert.Equal(whole.KvBytesPerBlock(16) * replicas, sharded.KvBytesPerBlock(16));
    }

    internal static LoadedModel Load(string name) => name switch
    {
        "stories260K" => ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "Models", "stories260K", "stories260K.bin")),
        nameof(Qwen2) => TestModels.Random(Qwen2),
        _ => TestModels.Random(TestModels.ByName(name)),
    };
}
