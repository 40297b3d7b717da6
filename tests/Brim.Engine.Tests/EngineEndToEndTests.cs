using System.Text;
using Brim.Core;

namespace Brim.Engine.Tests;

/// <summary>The engine with the real CPU backend, the bundled stories260K model and its real tokenizer.</summary>
public class EngineEndToEndTests
{
    [Fact]
    public void GreedyGeneration_Stories260K_MatchesLlama2cPublishedOutput()
    {
        // llama2.c's test_all.py runs `run stories260K.bin -z tok512.bin -t 0.0 -n 200`: the prompt is BOS alone,
        // run.c samples once at each of positions 0..199 (200 tokens, greedy), and would stop early on BOS (token 1). Its expected stdout is in
        // stories260K_expected.txt, copied verbatim from that test.
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "stories260K_expected.txt"));
        using var engine = BundledModel.CreateEngine();
        var text = new StringBuilder();
        FinishReason? finish = null;
        engine.Submit(
            new GenerationRequest
            {
                Id = new RequestId("story"),
                PromptTokens = [1],
                Sampling = SamplingParams.Greedy(200) with { StopTokenIds = [1] },
            },
            u =>
            {
                text.Append(u.TextDelta);
                finish ??= u.FinishReason;
            });
        engine.RunUntilIdle();

        Assert.Equal(FinishReason.Length, finish);
        Assert.Equal(expected, text.ToString());
        Assert.Equal(0, engine.UsedKvBlocks);
    }

    [Fact]
    public void ContinuousBatching_32ConcurrentRequests_ProduceTheTokensEachProducesAlone()
    {
        var requests = MixedRequests(32);
        var alone = requests.ToDictionary(r => r.Id, r => RunAlone(r));

        using var engine = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 512, MaxBatchTokens = 96, MaxRunningSequences = 32 });
        var batched = RunTogether(engine, requests);

        foreach (var r in requests)
        {
            Assert.Equal(alone[r.Id], batched[r.Id]);
        }

        Assert.Equal(0, engine.UsedKvBlocks);
        engine.CheckIntegrity();
    }

    [Fact]
    public void ContinuousBatching_CacheTooSmall_PreemptsAndStillMatchesAlone()
    {
        var requests = MixedRequests(32);
        var alone = requests.ToDictionary(r => r.Id, r => RunAlone(r));

        // 40 blocks of 16 positions hold 640 positions; the requests need about 3,500 together, so sequences are
        // preempted and recomputed again and again.
        using var engine = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 40, MaxBatchTokens = 128, MaxRunningSequences = 32 });
        var preemptions = 0;
        engine.StepCompleted += s => preemptions += s.Preempted;
        var batched = RunTogether(engine, requests);

        Assert.True(preemptions > 0, "the small cache must force preemptions");
        foreach (var r in requests)
        {
            Assert.Equal(alone[r.Id], batched[r.Id]);
        }

        Assert.Equal(0, engine.UsedKvBlocks);
    }

    [Fact]
    public void Cancel_MidGeneration_FreesBlocksBeforeTheNextStep()
    {
        using var engine = BundledModel.CreateEngine();
        var updates = new List<GenerationUpdate>();
        engine.Submit(new GenerationRequest { Id = new RequestId("a"), PromptTokens = [1, 403], Sampling = SamplingParams.Greedy(300) }, updates.Add);
        engine.Submit(new GenerationRequest { Id = new RequestId("b"), PromptTokens = [1, 403], Sampling = SamplingParams.Greedy(5) }, _ => { });
        for (var i = 0; i < 10; i++)
        {
            engine.Step();
        }

        Assert.True(engine.UsedKvBlocks > 0);
        engine.Cancel(new RequestId("a"));
        engine.Step(); // drains the cancellation; b has already finished
        Assert.Equal(0, engine.UsedKvBlocks);
        Assert.Equal(FinishReason.Cancelled, updates[^1].FinishReason);
        Assert.False(engine.Step());
    }

    [Fact]
    public void StopString_EndsGenerationAndIsNotInTheText()
    {
        using var engine = BundledModel.CreateEngine();
        var text = new StringBuilder();
        FinishReason? finish = null;
        engine.Submit(
            new GenerationRequest { Id = new RequestId("s"), PromptTokens = [1], Sampling = SamplingParams.Greedy(199) with { Stop = ["Lily"] } },
            u =>
            {
                text.Append(u.TextDelta);
                finish ??= u.FinishReason;
            });
        engine.RunUntilIdle();

        Assert.Equal(FinishReason.Stop, finish);
        Assert.Equal("Once upon a time, there was a little girl named ", text.ToString());
    }

    [Fact]
    public void SeededSampling_SameSeedSameTokens_DifferentSeedDifferentTokens()
    {
        int[] Run(long seed)
        {
            using var engine = BundledModel.CreateEngine();
            var tokens = new List<int>();
            engine.Submit(
                new GenerationRequest
                {
                    Id = new RequestId("x"),
                    PromptTokens = [1],
                    Sampling = new SamplingParams { Temperature = 1f, TopP = 0.9f, Seed = seed, MaxTokens = 40 },
                },
                u => tokens.AddRange(u.NewTokens));
            engine.RunUntilIdle();
            return [.. tokens];
        }

        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    private static List<GenerationRequest> MixedRequests(int count)
    {
        var tokenizer = BundledModel.Tokenizer;
        string[] openings = ["Once upon a time", "The cat", "Tom and Sue went to the park", "One day, a little bird", "Lily", "The big red ball was"];
        return Enumerable.Range(0, count).Select(i => new GenerationRequest
        {
            Id = new RequestId($"r{i}"),
            PromptTokens = tokenizer.Encode(openings[i % openings.Length] + new string('!', i % 5)),
            Sampling = SamplingParams.Greedy(8 + (i * 37 % 120)) with { IgnoreEos = true },
        }).ToList();
    }

    private static int[] RunAlone(GenerationRequest request)
    {
        using var engine = BundledModel.CreateEngine(new EngineOptions { NumKvBlocks = 64 });
        return RunTogether(engine, [request])[request.Id];
    }

    private static Dictionary<RequestId, int[]> RunTogether(LlmEngine engine, IReadOnlyList<GenerationRequest> requests)
    {
        var tokens = BundledModel.RunTogether(engine, requests);
        foreach (var r in requests)
        {
            Assert.Equal(r.Sampling.MaxTokens, tokens[r.Id].Length);
        }

        return tokens;
    }
}
