using Brim.Models.Parallel;
using Brim.Tests;

namespace Brim.Models.Tests.Parallel;

/// <summary>The benchmark shapes in bench/configs are the published models' and split as tensor parallelism needs.</summary>
public sealed class BenchConfigTests
{
    /// <summary>
    /// Llama-3.1-70B: 70.55 B parameters (Meta's 70.6 B) and a clean split over 2, 4 and 8 GPUs: 64 heads, 8 KV heads
    /// (one a rank at 8), an MLP of 28,672 and a vocabulary of 128,256 (16,032 ids a rank at 8, none padded).
    /// </summary>
    [Fact]
    public void Llama31_70B_PublishedSizeAndSplitsOverEightGpus()
    {
        var config = HuggingFaceDirectory.ReadConfig(Path.Combine(RepoPaths.Root, "bench", "configs", "llama-3.1-70b"));
        Assert.InRange(config.ParameterCount, 70.5e9, 70.6e9);
        foreach (var ranks in new[] { 2, 4, 8 })
        {
            var plan = TensorParallelPlan.Create(config, ranks);
            Assert.All(plan.Ranks, r => Assert.Equal(64 / ranks, r.Heads.Length));
            Assert.All(plan.Ranks, r => Assert.Equal(8 / ranks, r.KvHeads.Length));
            Assert.Equal(128256 / ranks, plan.PaddedVocabPerRank);
        }
    }
}
