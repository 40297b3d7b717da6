using Brim.Core;
using Brim.Engine.PrefixCache;

namespace Brim.Engine.Tests.PrefixCache;

/// <summary>The prefix cache through the engine and the real CPU backend: siblings, eviction policy, reset.</summary>
public class PrefixCacheEngineTests
{
    private const int BlockSize = 8;

    [Fact]
    public void Siblings_SubmittedTogether_ComputeTheSharedPromptOnce()
    {
        // Four samples of one 70-token prompt (what n = 4 submits): the first computes it, the others wait one step for
        // its blocks instead of computing their own copies in the same step.
        using var engine = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 128, BlockSize = BlockSize });
        long prefill = 0;
        engine.StepCompleted += s => prefill += s.PrefillTokens;
        var prompt = Tokens(seed: 1, 70);
        var siblings = Enumerable.Range(0, 4).Select(i => new GenerationRequest
        {
            Id = new RequestId($"s{i}"),
            PromptTokens = prompt,
            Sampling = new SamplingParams { Temperature = 1f, Seed = i, MaxTokens = 6 },
        }).ToList();
        var cached = new Dictionary<RequestId, int>();
        foreach (var r in siblings)
        {
            engine.Submit(r, u => cached[u.Id] = u.CachedPromptTokenCount);
        }

        engine.RunUntilIdle();

        Assert.Equal(0, cached[siblings[0].Id]);
        Assert.All(siblings.Skip(1), r => Assert.Equal(64, cached[r.Id])); // 8 full blocks of the 70
        Assert.Equal(70 + (3 * 6), prefill);
    }

    [Fact]
    public void Eviction_OfflineFlood_OnlineSystemPromptSurvivesOnlyUnderOfflineFirst()
    {
        var offlineFirst = OnlineCachedTokens(PrefixEviction.OfflineFirst);
        var lru = OnlineCachedTokens(PrefixEviction.Lru);

        // Measured on this workload: the policy is what keeps the online prefix; plain LRU loses it to the flood.
        Assert.True(offlineFirst > 2 * lru + 64, $"online prompt tokens from the cache: offline-first {offlineFirst}, LRU {lru}");
    }

    [Fact]
    public async Task ResetPrefixCache_ForgetsCachedPrompts()
    {
        using var engine = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 64, BlockSize = BlockSize });
        var prompt = Tokens(seed: 2, 40);
        int Cached(string id)
        {
            var cached = -1;
            engine.Submit(new GenerationRequest { Id = new RequestId(id), PromptTokens = prompt, Sampling = SamplingParams.Greedy(3) }, u => cached = u.CachedPromptTokenCount);
            engine.RunUntilIdle();
            return cached;
        }

        Assert.Equal(0, Cached("first"));
        Assert.Equal(32, Cached("second"));
        var reset = engine.ResetPrefixCacheAsync();
        engine.Step();
        Assert.True(reset.IsCompletedSuccessfully);
        Assert.True(await reset > 0);
        Assert.Equal(0, Cached("third"));
    }

    /// <summary>
    /// A small cache (64 blocks), an online request with a 64-token system prompt every 25 steps, and a flood of one-off
    /// offline prompts in between: the prompt tokens online requests got from the cache.
    /// </summary>
    private static int OnlineCachedTokens(PrefixEviction eviction)
    {
        using var engine = BundledModel.CreateEngine(new EngineOptions
        {
            NumKvBlocks = 64, BlockSize = BlockSize, MaxRunningSequences = 5, MaxBatchTokens = 128, PrefixEviction = eviction,
            SwapSpaceBytes = 0,
        });
        var system = Tokens(seed: 3, 64);
        var cached = 0;
        var offline = 0;
        for (var step = 0; step < 250; step++)
        {
            if (step % 25 == 0)
            {
                var id = new RequestId($"online{step}");
                engine.Submit(
                    new GenerationRequest { Id = id, PromptTokens = [.. system, .. Tokens(step, 6)], Sampling = SamplingParams.Greedy(4) },
                    u => cached += u.IsFinal ? u.CachedPromptTokenCount : 0);
            }

            if (engine.Snapshot().Waiting < 4)
            {
                engine.Submit(
                    new GenerationRequest
                    {
                        Id = new RequestId($"offline{offline}"), PromptTokens = Tokens(1000 + offline++, 40),
                        Sampling = SamplingParams.Greedy(6), TrafficClass = TrafficClass.Offline,
                    },
                    _ => { });
            }

            engine.Step();
        }

        return cached;
    }

    private static int[] Tokens(int seed, int count)
    {
        var random = new Random(seed);
        return [1, .. Enumerable.Range(0, count - 1).Select(_ => random.Next(3, 512))];
    }
}
