using Brim.Core;

namespace Brim.Engine.Tests;

/// <summary>
/// Preemption by swapping KV blocks to host memory, end to end: the real CPU backend and the bundled model under a KV
/// cache far too small for the load. On the CPU every sequence's logits are bitwise identical however it is batched,
/// so a request's greedy tokens must equal its unpreempted run exactly, whether it was swapped, recomputed or both.
/// </summary>
public class KvSwapEngineTests
{
    private const int BlockSize = 16;
    private static readonly List<GenerationRequest> Requests = MixedRequests(16);
    private static readonly Lazy<Dictionary<RequestId, int[]>> Alone = new(() => Requests.ToDictionary(r => r.Id, RunAlone));

    [Fact]
    public void Swap_CacheTooSmall_EveryRequestMatchesItsUnpreemptedRun()
    {
        // 24 blocks of 16 positions hold 384; the 16 requests need about 900 together. 256 swap blocks hold them all.
        // Prefix caching off: every block swapped out must be copied back (with it, still-cached blocks are not).
        using var engine = BundledModel.CreateEngine(Options(swapBlocks: 256) with { EnablePrefixCaching = false });
        var steps = Record(engine);
        var tokens = BundledModel.RunTogether(engine, Requests);

        Assert.Equal(256, engine.TotalSwapBlocks);
        Assert.True(engine.Snapshot().SwapPreemptions > 0, "the small cache must force preemptions by swap");
        Assert.True(steps.Sum(s => s.SwappedOutBlocks) > 0 && steps.Sum(s => s.SwappedInBlocks) > 0, "blocks must go out and come back");
        Assert.Equal(steps.Sum(s => s.SwappedOutBlocks), steps.Sum(s => s.SwappedInBlocks));
        AssertMatchesAlone(tokens);
        Assert.Equal(0, engine.UsedKvBlocks);
        Assert.Equal(0, engine.UsedSwapBlocks);
    }

    [Fact]
    public void Swap_WithPrefixCache_StillCachedBlocksAreNotCopiedBack()
    {
        using var engine = BundledModel.CreateEngine(Options(swapBlocks: 256));
        var steps = Record(engine);
        var tokens = BundledModel.RunTogether(engine, Requests);

        Assert.True(engine.Snapshot().SwapPreemptions > 0, "the small cache must force preemptions by swap");
        Assert.True(steps.Sum(s => s.SwappedInBlocks) <= steps.Sum(s => s.SwappedOutBlocks));
        AssertMatchesAlone(tokens);
        Assert.Equal(0, engine.UsedKvBlocks);
        Assert.Equal(0, engine.UsedSwapBlocks);
    }

    [Fact]
    public void Swap_SwapSpaceZero_FallsBackToRecompute()
    {
        using var engine = BundledModel.CreateEngine(Options(swapBlocks: 0));
        var steps = Record(engine);
        var tokens = BundledModel.RunTogether(engine, Requests);

        var snapshot = engine.Snapshot();
        Assert.Equal(0, engine.TotalSwapBlocks);
        Assert.True(snapshot.Preemptions > 0, "the small cache must force preemptions");
        Assert.Equal(0, snapshot.SwapPreemptions);
        Assert.Equal(0, steps.Sum(s => s.SwappedOutBlocks));
        AssertMatchesAlone(tokens);
    }

    [Fact]
    public void Swap_HostPoolTooSmallForEveryVictim_RecomputesTheRestAndStillMatches()
    {
        using var engine = BundledModel.CreateEngine(Options(swapBlocks: 6));
        var tokens = BundledModel.RunTogether(engine, Requests);

        var snapshot = engine.Snapshot();
        Assert.True(snapshot.SwapPreemptions > 0, "victims that fit the 6 swap blocks are swapped");
        Assert.True(snapshot.Preemptions > snapshot.SwapPreemptions, "victims that do not fit are recomputed");
        AssertMatchesAlone(tokens);
        Assert.Equal(0, engine.UsedSwapBlocks);
    }

    [Fact]
    public void Cancel_WhileSwapped_ReturnsEveryHostBlock()
    {
        // Six blocks cannot hold both sequences to the end: the offline one is preempted first, and swapped, and cannot
        // come back while the online one holds the cache.
        using var engine = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 6, BlockSize = BlockSize, SwapSpaceBytes = SwapBytes(16) });
        var online = Request("online", "Once upon a time", 80, TrafficClass.Online);
        var offline = Request("offline", "The cat", 80, TrafficClass.Offline);
        var updates = new Dictionary<RequestId, List<GenerationUpdate>> { [online.Id] = [], [offline.Id] = [] };
        engine.Submit(online, updates[online.Id].Add);
        engine.Submit(offline, updates[offline.Id].Add);
        for (var i = 0; i < 200 && engine.Snapshot().Swapped == 0; i++)
        {
            engine.Step();
        }

        Assert.Equal(1, engine.Snapshot().Swapped);
        Assert.True(engine.UsedSwapBlocks > 0);
        Assert.Null(updates[offline.Id].LastOrDefault()?.FinishReason);

        engine.Cancel(offline.Id);
        engine.Step();
        Assert.Equal(0, engine.UsedSwapBlocks);
        Assert.Equal(0, engine.Snapshot().Swapped);
        Assert.Equal(FinishReason.Cancelled, updates[offline.Id][^1].FinishReason);
        engine.CheckIntegrity();

        engine.RunUntilIdle();
        Assert.Equal(RunAlone(online), updates[online.Id].SelectMany(u => u.NewTokens).ToArray());
        Assert.Equal(0, engine.UsedKvBlocks);
        Assert.Equal(0, engine.UsedSwapBlocks);
    }

    [Fact]
    public void Options_NegativeSwapSpace_IsRefused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 8, SwapSpaceBytes = -1 }));
        Assert.Contains(nameof(EngineOptions.SwapSpaceBytes), error.Message);
    }

    private static EngineOptions Options(int swapBlocks) => new()
    {
        NumKvBlocks = 24,
        BlockSize = BlockSize,
        MaxBatchTokens = 128,
        MaxRunningSequences = 16,
        SwapSpaceBytes = SwapBytes(swapBlocks),
    };

    /// <summary>Bytes of <paramref name="blocks"/> swap blocks for the bundled model (float32 K and V of every layer).</summary>
    private static long SwapBytes(int blocks) =>
        (long)blocks * 2 * BundledModel.Model.Config.NumLayers * BlockSize * BundledModel.Model.Config.KvDim * sizeof(float);

    private static List<StepRecord> Record(LlmEngine engine)
    {
        var steps = new List<StepRecord>();
        engine.StepCompleted += steps.Add;
        return steps;
    }

    private static void AssertMatchesAlone(Dictionary<RequestId, int[]> tokens)
    {
        foreach (var r in Requests)
        {
            Assert.Equal(Alone.Value[r.Id], tokens[r.Id]);
        }
    }

    private static GenerationRequest Request(string id, string prompt, int maxTokens, TrafficClass cls) => new()
    {
        Id = new RequestId(id),
        PromptTokens = BundledModel.Tokenizer.Encode(prompt),
        Sampling = SamplingParams.Greedy(maxTokens) with { IgnoreEos = true },
        TrafficClass = cls,
    };

    /// <summary>Online and offline requests (every third is offline) of varied prompt and output lengths.</summary>
    private static List<GenerationRequest> MixedRequests(int count)
    {
        string[] openings = ["Once upon a time", "The cat", "Tom and Sue went to the park", "One day, a little bird", "Lily", "The big red ball was"];
        return Enumerable.Range(0, count)
            .Select(i => Request($"r{i}", openings[i % openings.Length] + new string('!', i % 5), 8 + (i * 37 % 80), i % 3 == 0 ? TrafficClass.Offline : TrafficClass.Online))
            .ToList();
    }

    private static int[] RunAlone(GenerationRequest request)
    {
        using var engine = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 64, BlockSize = BlockSize });
        return BundledModel.RunTogether(engine, [request])[request.Id];
    }
}
