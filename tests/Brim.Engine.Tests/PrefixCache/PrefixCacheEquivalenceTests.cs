using Brim.Backends.Cpu;
using Brim.Core;
using Brim.Core.Execution;

namespace Brim.Engine.Tests.PrefixCache;

/// <summary>
/// Prefix caching must never change an answer. On the CPU backend a sequence's logits are bitwise identical however it
/// is batched or chunked, and K/V read from another sequence's cached block is bitwise the K/V it would have computed,
/// so with the cache on every request's tokens (greedy and seeded sampling) equal its tokens with the cache off — under
/// chunked prefill, preemption by swap and by recompute, cancellation, and a cache so small that blocks are evicted
/// all the time. The engine checks block integrity (free + cached + used == total, reference counts equal holders)
/// after every step, and that no step writes a shared or cached block.
/// </summary>
public class PrefixCacheEquivalenceTests
{
    private const int BlockSize = 8;
    private static readonly PrefixWorkload Workload = PrefixWorkload.Create(seed: 20261207, count: 400, vocab: 512);

    /// <summary>Every request alone in spirit: cache off, room for all, no cancellation.</summary>
    private static readonly Lazy<Dictionary<RequestId, PrefixWorkload.Outcome>> Reference = new(() =>
    {
        using var engine = BundledModel.CreateEngine(new EngineOptions
        {
            NumKvBlocks = 4096, BlockSize = BlockSize, MaxRunningSequences = 256, EnablePrefixCaching = false,
        });
        return Workload.Run(engine, chaos: false).Outcomes;
    });

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SmallCache_ChaoticRun_EveryRequestMatchesTheUncachedReference(bool prefixCaching)
    {
        using var engine = BundledModel.CreateEngine(SmallCache(prefixCaching));
        var steps = new List<StepRecord>();
        engine.StepCompleted += steps.Add;

        var (outcomes, stepCount) = Workload.Run(engine, chaos: true);

        foreach (var r in Workload.Requests)
        {
            var expected = Reference.Value[r.Id].Tokens;
            var actual = outcomes[r.Id];
            if (actual.Finish == FinishReason.Cancelled)
            {
                Assert.Equal(expected.Take(actual.Tokens.Count), actual.Tokens); // what it got before the cancel
            }
            else
            {
                Assert.Equal(expected, actual.Tokens);
            }
        }

        var snapshot = engine.Snapshot();
        Assert.True(stepCount > 1000, $"a long randomized run ({stepCount} steps)");
        Assert.True(snapshot.SwapPreemptions > 0 && snapshot.Preemptions > snapshot.SwapPreemptions, "preemption both ways");
        Assert.Contains(outcomes.Values, o => o.Finish == FinishReason.Cancelled);
        Assert.Contains(steps, s => s.PrefillTokens > 1 && s.DecodeTokens > 0); // chunks share steps with decodes
        Assert.Equal(0, engine.UsedKvBlocks);
        Assert.Equal(0, engine.UsedSwapBlocks);
        if (prefixCaching)
        {
            Assert.True(snapshot.PrefixCacheHitTokens > snapshot.PrefixCacheQueriedTokens / 5, $"hits {snapshot.PrefixCacheHitTokens} of {snapshot.PrefixCacheQueriedTokens}");
            Assert.True(snapshot.PrefixCacheEvictions > 100, $"constant eviction ({snapshot.PrefixCacheEvictions})");
            Assert.Contains(outcomes.Values, o => o.CachedPromptTokens > 0);
        }
        else
        {
            Assert.Equal(0, snapshot.PrefixCacheQueriedTokens);
            Assert.All(outcomes.Values, o => Assert.Equal(0, o.CachedPromptTokens));
        }
    }

    [Fact]
    public void SmallCache_CachedRun_ComputesFewerPromptTokensThanUncached()
    {
        long Prefill(bool caching)
        {
            using var engine = BundledModel.CreateEngine(SmallCache(caching) with { SwapSpaceBytes = 0 });
            long tokens = 0;
            engine.StepCompleted += s => tokens += s.PrefillTokens;
            Workload.Run(engine, chaos: false);
            return tokens;
        }

        var cached = Prefill(true);
        var uncached = Prefill(false);
        Assert.True(cached < uncached * 0.8, $"prefill tokens with the cache {cached}, without {uncached}");
    }

    /// <summary>
    /// The same with an int8 KV cache, on a shorter workload: a position's quantized K/V depends on its own vector only,
    /// so a block reused from the prefix cache, swapped back in or recomputed holds the same bytes, and caching still
    /// never changes an answer.
    /// </summary>
    [Fact]
    public void Int8KvCache_SmallCacheChaoticRun_EveryRequestMatchesTheUncachedReference()
    {
        var workload = PrefixWorkload.Create(seed: 20261208, count: 150, vocab: 512);
        Dictionary<RequestId, PrefixWorkload.Outcome> reference;
        using (var engine = BundledModel.CreateEngine(
            new EngineOptions { NumKvBlocks = 2048, BlockSize = BlockSize, MaxRunningSequences = 256, EnablePrefixCaching = false },
            kvCacheDType: KvCacheDType.Int8))
        {
            reference = workload.Run(engine, chaos: false).Outcomes;
        }

        using var backend = CpuBackend.Create(BundledModel.Model, new CpuBackendOptions { ThreadCount = 1, KvCacheDType = KvCacheDType.Int8 });
        var options = SmallCache(prefixCaching: true) with { SwapSpaceBytes = 10 * backend.KvBytesPerBlock(BlockSize) };
        using var cached = BundledModel.CreateEngine(options, kvCacheDType: KvCacheDType.Int8);
        var (outcomes, _) = workload.Run(cached, chaos: true);

        foreach (var r in workload.Requests)
        {
            var (expected, actual) = (reference[r.Id].Tokens, outcomes[r.Id]);
            Assert.Equal(actual.Finish == FinishReason.Cancelled ? expected.Take(actual.Tokens.Count) : expected, actual.Tokens);
        }

        var snapshot = cached.Snapshot();
        Assert.True(snapshot.PrefixCacheHitTokens > snapshot.PrefixCacheQueriedTokens / 5, $"hits {snapshot.PrefixCacheHitTokens} of {snapshot.PrefixCacheQueriedTokens}");
        Assert.True(snapshot.SwapPreemptions > 0 && snapshot.Preemptions > snapshot.SwapPreemptions, "preemption both ways");
        Assert.Equal(0, cached.UsedKvBlocks);
    }

    /// <summary>
    /// 48 blocks of 8 positions (384) for 12 slots of prompts up to ~150 tokens: constant preemption and eviction; 64
    /// tokens a step chunk every long prompt; 10 swap blocks take some victims, the rest recompute.
    /// </summary>
    private static EngineOptions SmallCache(bool prefixCaching) => new()
    {
        NumKvBlocks = 48,
        BlockSize = BlockSize,
        MaxBatchTokens = 64,
        MaxRunningSequences = 12,
        EnablePrefixCaching = prefixCaching,
        SwapSpaceBytes = 10L * 2 * BundledModel.Model.Config.NumLayers * BlockSize * BundledModel.Model.Config.KvDim * sizeof(float),
    };
}
