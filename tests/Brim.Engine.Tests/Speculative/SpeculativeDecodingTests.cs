using System.Text;
using Brim.Core;
using Brim.Engine.Speculative;

namespace Brim.Engine.Tests.Speculative;

/// <summary>
/// Speculative decoding with prompt lookup on the bundled model: the tokens are exactly those of plain decoding (greedy,
/// and seeded sampling, whose point-mass verification draws the same uniforms), also under chunked prefill and
/// preemption; the KV integrity check runs after every step (BundledModel turns it on) and every block comes back.
/// </summary>
public class SpeculativeDecodingTests
{
    private static readonly SpeculativeConfig AlwaysNGram = new() { NumSpeculativeTokens = 4, PromptLookupMin = 1, PromptLookupMax = 4, Mode = SpeculationMode.Always };

    [Fact]
    public void Greedy_NGramAlways_TokenIdenticalToPlainDecoding()
    {
        var requests = Requests(16, _ => SamplingParams.Greedy(60) with { IgnoreEos = true });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, out _);
        var speculative = Run(new EngineOptions { NumKvBlocks = 512, Speculative = AlwaysNGram }, requests, out var metrics);

        AssertSameTokens(requests, plain, speculative);
        Assert.True(metrics!.AcceptedTokens > 50, $"the model's repetitive stories must accept drafts (accepted {metrics.AcceptedTokens} of {metrics.DraftTokens})");
        Assert.True(metrics.AcceptedTokens < metrics.DraftTokens, "some drafts must be rejected, or rollback went untested");
    }

    [Fact]
    public void Greedy_NGramUnderChunkedPrefillAndPreemption_TokenIdenticalToPlainDecoding()
    {
        var requests = Requests(24, i => SamplingParams.Greedy(40 + (i * 13 % 80)) with { IgnoreEos = true });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, out _);

        // 40 blocks of 16 positions for ~3,000 positions of work: sequences are preempted (and recomputed) again and again;
        // 24 tokens per step split the prompts into chunks sharing steps with verification chunks.
        var preempted = 0;
        var options = new EngineOptions { NumKvBlocks = 40, MaxBatchTokens = 24, MaxRunningSequences = 16, Speculative = AlwaysNGram };
        var speculative = Run(options, requests, out var metrics, s => preempted += s.Preempted);

        Assert.True(preempted > 0, "the small cache must force preemptions");
        Assert.True(metrics!.AcceptedTokens > 0);
        AssertSameTokens(requests, plain, speculative);
    }

    [Fact]
    public void Greedy_NGramUnderSwapPreemption_TokenIdenticalToPlainDecoding()
    {
        var requests = Requests(16, i => SamplingParams.Greedy(30 + (i * 17 % 60)) with { IgnoreEos = true });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, out _);

        // 24 blocks for ~1,500 positions of work, 256 host swap blocks: victims are swapped out and back, with the
        // blocks of their computed tokens only (a rolled-back draft leaves none behind to swap).
        var config = BundledModel.Model.Config;
        var swapBytes = 256L * 2 * config.NumLayers * 16 * config.KvDim * sizeof(float);
        long swapPreemptions = 0;
        var options = new EngineOptions { NumKvBlocks = 24, MaxBatchTokens = 64, MaxRunningSequences = 16, SwapSpaceBytes = swapBytes, Speculative = AlwaysNGram };
        var speculative = Run(options, requests, out var metrics, s => swapPreemptions = s.SwapPreemptions);

        Assert.True(swapPreemptions > 0, "the small cache must force preemptions by swap");
        Assert.True(metrics!.AcceptedTokens > 0);
        AssertSameTokens(requests, plain, speculative);
    }

    [Fact]
    public void PrefixCache_NextTurnReusesBlocksWrittenWhileSpeculating_SameTokensAsPlainDecoding()
    {
        // A chat's second turn resends the first turn's answer, which was generated with drafts verified (and rolled back)
        // in its blocks: the cache must hold exactly the accepted tokens' K/V, or the second answer would differ.
        var first = Requests(1, _ => SamplingParams.Greedy(96) with { IgnoreEos = true })[0];
        using var engine = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 256, Speculative = AlwaysNGram });
        var answer = BundledModel.RunTogether(engine, [first])[first.Id];
        var second = new GenerationRequest
        {
            Id = new RequestId("turn2"),
            PromptTokens = [.. first.PromptTokens, .. answer, .. BundledModel.Tokenizer.Encode(" The end. Once")],
            Sampling = SamplingParams.Greedy(40) with { IgnoreEos = true },
        };
        var hitsBefore = engine.Snapshot().PrefixCacheHitTokens;
        var reply = BundledModel.RunTogether(engine, [second])[second.Id];

        Assert.True(engine.Snapshot().PrefixCacheHitTokens - hitsBefore >= 96, "the second turn must reuse the first turn's blocks");
        Assert.True(engine.Speculation!.AcceptedTokens > 0 && engine.Speculation.AcceptedTokens < engine.Speculation.DraftTokens);
        using var plain = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 256, EnablePrefixCaching = false });
        Assert.Equal(BundledModel.RunTogether(plain, [second])[second.Id], reply);
    }

    [Fact]
    public void SeededSampling_WithPenaltiesAndStopString_SameTokensAsPlainDecoding()
    {
        // Prompt lookup proposes point masses: verification samples each row with the uniform plain decoding would use
        // and keeps the draft token only when the sample equals it, so a seed gives the very same tokens.
        var requests = Requests(12, i => new SamplingParams
        {
            Temperature = 0.8f,
            TopP = 0.95f,
            TopK = i % 3 == 0 ? 40 : 0,
            Seed = 100 + i,
            MaxTokens = 80,
            FrequencyPenalty = i % 2 == 0 ? 0.3f : 0f,
            RepetitionPenalty = i % 4 == 1 ? 1.2f : 1f,
            Stop = i % 3 == 2 ? ["Lily"] : [],
        });
        var plain = RunText(new EngineOptions { NumKvBlocks = 512 }, requests, out _);
        var speculative = RunText(new EngineOptions { NumKvBlocks = 512, Speculative = AlwaysNGram }, requests, out var metrics);

        Assert.True(metrics!.AcceptedTokens > 0);
        foreach (var r in requests)
        {
            Assert.Equal(plain[r.Id].Text, speculative[r.Id].Text);
            Assert.Equal(plain[r.Id].Tokens, speculative[r.Id].Tokens);
        }
    }

    [Fact]
    public void SeededSampling_SpeculationOn_SameTokensRunToRun()
    {
        var requests = Requests(6, i => new SamplingParams { Temperature = 1f, Seed = 7 + i, MaxTokens = 50 });
        var options = new EngineOptions { NumKvBlocks = 256, Speculative = AlwaysNGram };
        var first = RunText(options, requests, out _);
        var second = RunText(options, requests, out _);
        foreach (var r in requests)
        {
            Assert.Equal(first[r.Id].Tokens, second[r.Id].Tokens);
        }
    }

    [Fact]
    public void StopStringAndMaxTokens_InsideAnAcceptedRun_EndTheOutputThere()
    {
        // The stop string and the length limit fall where drafts are being accepted: the run is cut at them.
        var stop = new GenerationRequest { Id = new RequestId("stop"), PromptTokens = [1], Sampling = SamplingParams.Greedy(199) with { Stop = ["Lily"] } };
        var length = new GenerationRequest { Id = new RequestId("len"), PromptTokens = [1], Sampling = SamplingParams.Greedy(37) with { IgnoreEos = true } };
        var plain = RunText(new EngineOptions { NumKvBlocks = 256 }, [stop, length], out _);
        var speculative = RunText(new EngineOptions { NumKvBlocks = 256, Speculative = AlwaysNGram }, [stop, length], out _);

        Assert.Equal("Once upon a time, there was a little girl named ", speculative[stop.Id].Text);
        Assert.Equal(plain[stop.Id].Tokens, speculative[stop.Id].Tokens);
        Assert.Equal(37, speculative[length.Id].Tokens.Length);
        Assert.Equal(plain[length.Id].Tokens, speculative[length.Id].Tokens);
    }

    [Fact]
    public void AllowSpeculationFalse_RequestIsNeverSpeculatedFor()
    {
        var requests = Requests(4, _ => SamplingParams.Greedy(40) with { IgnoreEos = true })
            .Select(r => r with { AllowSpeculation = false }).ToList();
        Run(new EngineOptions { NumKvBlocks = 256, Speculative = AlwaysNGram }, requests, out var metrics);
        Assert.Equal(0, metrics!.DraftTokens);
    }

    [Fact]
    public void AdaptivePolicy_TokenIdenticalAndCountsItsDecisions()
    {
        var requests = Requests(8, _ => SamplingParams.Greedy(60) with { IgnoreEos = true });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, out _);
        var adaptive = Run(new EngineOptions { NumKvBlocks = 512, Speculative = AlwaysNGram with { Mode = SpeculationMode.Adaptive } }, requests, out var metrics);

        AssertSameTokens(requests, plain, adaptive);
        Assert.True(metrics!.Drafts > 0, "before the cost model is fitted, the policy tries drafts");
        Assert.Equal(metrics.AcceptedTokens, Enumerable.Range(0, metrics.MaxDraftLength).Sum(metrics.AcceptedAtPosition));
    }

    internal static List<GenerationRequest> Requests(int count, Func<int, SamplingParams> sampling)
    {
        var tokenizer = BundledModel.Tokenizer;
        string[] openings =
        [
            "Once upon a time", "The cat sat on the mat. The cat sat on the", "Tom and Sue went to the park. Tom and Sue",
            "One day, a little bird", "Lily", "The big red ball was big and red. The big red ball",
        ];
        return Enumerable.Range(0, count).Select(i => new GenerationRequest
        {
            Id = new RequestId($"r{i}"),
            PromptTokens = tokenizer.Encode(openings[i % openings.Length] + new string('!', i % 3)),
            Sampling = sampling(i),
        }).ToList();
    }

    private static Dictionary<RequestId, int[]> Run(
        EngineOptions options, IReadOnlyList<GenerationRequest> requests, out SpeculationMetrics? metrics, Action<StepRecord>? onStep = null)
    {
        using var engine = BundledModel.CreateEngine(options);
        if (onStep is not null)
        {
            engine.StepCompleted += onStep;
        }

        var tokens = BundledModel.RunTogether(engine, requests);
        Assert.Equal(0, engine.UsedKvBlocks);
        engine.CheckIntegrity();
        metrics = engine.Speculation;
        return tokens;
    }

    private static Dictionary<RequestId, (string Text, int[] Tokens)> RunText(
        EngineOptions options, IReadOnlyList<GenerationRequest> requests, out SpeculationMetrics? metrics)
    {
        using var engine = BundledModel.CreateEngine(options);
        var text = requests.ToDictionary(r => r.Id, _ => new StringBuilder());
        var tokens = requests.ToDictionary(r => r.Id, _ => new List<int>());
        foreach (var r in requests)
        {
            engine.Submit(r, u =>
            {
                Assert.Null(u.Error);
                text[u.Id].Append(u.TextDelta);
                tokens[u.Id].AddRange(u.NewTokens);
            });
        }

        engine.RunUntilIdle();
        Assert.Equal(0, engine.UsedKvBlocks);
        metrics = engine.Speculation;
        return requests.ToDictionary(r => r.Id, r => (text[r.Id].ToString(), tokens[r.Id].ToArray()));
    }

    private static void AssertSameTokens(
        IReadOnlyList<GenerationRequest> requests, Dictionary<RequestId, int[]> expected, Dictionary<RequestId, int[]> actual)
    {
        foreach (var r in requests)
        {
            Assert.Equal(r.Sampling.MaxTokens, actual[r.Id].Length);
            Assert.Equal(expected[r.Id], actual[r.Id]);
        }
    }
}
