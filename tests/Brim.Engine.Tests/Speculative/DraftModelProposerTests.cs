using Brim.Backends.Cpu;
using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.Speculative;
using Brim.Models;

namespace Brim.Engine.Tests.Speculative;

/// <summary>
/// The draft-model proposer on the bundled model: as its own draft (every greedy draft token accepted: rollback and
/// catch-up exercised by the last token of every draft), and with a deliberately poor draft (random weights of the same
/// shape: nearly everything rejected). Greedy output is token-identical to plain decoding, also under preemption; for a
/// fixed context the sampled tokens follow the target's distribution; the draft's own KV accounting holds and frees.
/// </summary>
public class DraftModelProposerTests
{
    private static readonly SpeculativeConfig DraftConfig = new()
    {
        Method = SpeculativeConfig.DraftModel, Model = "in-process", NumSpeculativeTokens = 3, Mode = SpeculationMode.Always,
    };

    [Theory]
    [InlineData(false, 40)]
    [InlineData(true, 40)]
    [InlineData(false, 512)]
    public void Greedy_DraftModel_TokenIdenticalToPlainDecoding(bool poorDraft, int targetBlocks)
    {
        var requests = SpeculativeDecodingTests.Requests(12, i => SamplingParams.Greedy(30 + (i * 11 % 50)) with { IgnoreEos = true });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, null, out _);
        using var draft = Draft(poorDraft);
        var options = new EngineOptions { NumKvBlocks = targetBlocks, MaxBatchTokens = 64, MaxRunningSequences = 12, Speculative = DraftConfig };
        var speculative = Run(options, requests, draft, out var metrics);

        foreach (var r in requests)
        {
            Assert.Equal(plain[r.Id], speculative[r.Id]);
        }

        Assert.True(metrics!.DraftTokens > 100);
        if (poorDraft)
        {
            Assert.True(metrics.AcceptanceRate < 0.3, $"random weights must be a poor draft (acceptance {metrics.AcceptanceRate:P0})");
        }
        else
        {
            Assert.Equal(metrics.DraftTokens, metrics.AcceptedTokens); // the model is its own perfect greedy draft
        }

        draft.CheckIntegrity();
        draft.ForgetFinished();
        Assert.Equal(0, draft.UsedBlocks);
    }

    [Fact]
    public void Sampled_PoorDraft_SecondTokenFollowsTheTarget()
    {
        // Every request: the same prompt, its own seed, three tokens. The first comes from the prompt's prefill; the
        // second is verified against a draft from random weights. Given the most common first token, the second's
        // empirical distribution must match the target's next-token distribution after prompt + that token.
        const int requests = 3000;
        var prompt = BundledModel.Tokenizer.Encode("Once upon a time, there was a");
        var batch = Enumerable.Range(0, requests).Select(i => new GenerationRequest
        {
            Id = new RequestId($"d{i}"),
            PromptTokens = prompt,
            Sampling = new SamplingParams { Temperature = 1f, Seed = 1000 + i, MaxTokens = 3, IgnoreEos = true },
        }).ToList();
        using var draft = Draft(poor: true);
        var outputs = Run(new EngineOptions { NumKvBlocks = 1024, MaxRunningSequences = 64, Speculative = DraftConfig }, batch, draft, out var metrics);
        Assert.True(metrics!.DraftTokens > requests / 2);
        Assert.True(metrics.AcceptanceRate < 0.5, "the residual must be exercised");

        var first = outputs.Values.GroupBy(o => o[0]).MaxBy(g => g.Count())!;
        var p = Target([.. prompt, first.Key]);
        var counts = new double[p.Length];
        foreach (var o in first)
        {
            counts[o[1]]++;
        }

        var n = first.Count();
        var noise = 0.5 * p.Sum(v => Math.Sqrt(2 * v * (1 - v) / (Math.PI * n)));
        var tv = 0.5 * counts.Select((c, i) => Math.Abs((c / n) - p[i])).Sum();
        Assert.True(n > 500, $"only {n} requests share the first token");
        Assert.True(tv < 3 * noise, $"second tokens are {tv:F4} from the target (threshold {3 * noise:F4}, {n} draws)");
    }

    [Fact]
    public void Seeded_DraftModel_SameTokensRunToRun()
    {
        var requests = SpeculativeDecodingTests.Requests(6, i => new SamplingParams { Temperature = 0.9f, TopP = 0.95f, Seed = 50 + i, MaxTokens = 40 });
        int[][] Once()
        {
            using var draft = Draft(poor: false);
            var tokens = Run(new EngineOptions { NumKvBlocks = 256, Speculative = DraftConfig }, requests, draft, out _);
            return [.. requests.Select(r => tokens[r.Id])];
        }

        Assert.Equal(Once(), Once());
    }

    [Fact]
    public void Greedy_DraftAndTargetSampledAsOnADevice_TokenIdenticalToPlainDecodingUnderPreemption()
    {
        // A draft backend that samples (CUDA) returns only the argmax ids of all-greedy proposals; the target samples the
        // verify rows of those point-mass drafts itself. 40 target blocks force preemptions the draft must follow.
        var requests = SpeculativeDecodingTests.Requests(12, i => SamplingParams.Greedy(30 + (i * 11 % 50)) with { IgnoreEos = true });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, null, out _);
        var draftBackend = new DeviceSamplingCpuBackend(CpuBackend.Create(Model(poor: true), new CpuBackendOptions { ThreadCount = 1 }));
        using var draft = new DraftModelProposer(draftBackend, numKvBlocks: 64, blockSize: 16, BundledModel.Model.Config.VocabSize);
        var options = new EngineOptions { NumKvBlocks = 40, MaxBatchTokens = 64, MaxRunningSequences = 12, Speculative = DraftConfig };
        var speculative = Run(options, requests, draft, out var metrics, deviceTarget: true, out var target);

        foreach (var r in requests)
        {
            Assert.Equal(plain[r.Id], speculative[r.Id]);
        }

        Assert.True(metrics!.DraftTokens > 100);
        Assert.True(draftBackend.SampledSteps > 0 && draftBackend.LogitSteps == 0, "all-greedy proposals take argmax ids from the draft's backend");
        Assert.True(target!.SampledVerifyRows > 0 && target.LogitVerifyRows == 0, "greedy verify rows are sampled by the target's backend");
    }

    [Fact]
    public void SeededSampledDrafts_BackendsThatSample_SameTokensAsHostOnlyBackends()
    {
        // Sampled drafts carry q, so their rows come back as logits from both backends: the run must equal the one on
        // backends that never sample, seed for seed (greedy requests beside them included).
        var requests = SpeculativeDecodingTests.Requests(8, i => i % 2 == 0
            ? SamplingParams.Greedy(40) with { IgnoreEos = true }
            : new SamplingParams { Temperature = 0.9f, TopP = 0.95f, Seed = 70 + i, MaxTokens = 40, IgnoreEos = true });
        var options = new EngineOptions { NumKvBlocks = 256, Speculative = DraftConfig };
        using var hostDraft = Draft(poor: true);
        var host = Run(options, requests, hostDraft, out _);
        var draftBackend = new DeviceSamplingCpuBackend(CpuBackend.Create(Model(poor: true), new CpuBackendOptions { ThreadCount = 1 }));
        using var deviceDraft = new DraftModelProposer(draftBackend, numKvBlocks: 64, blockSize: 16, BundledModel.Model.Config.VocabSize);
        var device = Run(options, requests, deviceDraft, out _, deviceTarget: true, out var target);

        foreach (var r in requests)
        {
            Assert.Equal(host[r.Id], device[r.Id]);
        }

        Assert.True(target!.LogitVerifyRows > 0, "rows verifying sampled drafts come back as logits");
        Assert.True(target.SampledVerifyRows > 0, "the greedy requests' verify rows stay on the device beside them");
    }

    private static LoadedModel Model(bool poor)
    {
        var model = BundledModel.Model;
        return poor ? new LoadedModel(model.Config, new RandomWeightSource(model.Config, seed: 3), "random") : model;
    }

    private static DraftModelProposer Draft(bool poor) =>
        new(CpuBackend.Create(Model(poor), new CpuBackendOptions { ThreadCount = 1 }), numKvBlocks: 64, blockSize: 16, BundledModel.Model.Config.VocabSize);

    private static Dictionary<RequestId, int[]> Run(
        EngineOptions options, IReadOnlyList<GenerationRequest> requests, DraftModelProposer? draft, out SpeculationMetrics? metrics) =>
        Run(options, requests, draft, out metrics, deviceTarget: false, out _);

    private static Dictionary<RequestId, int[]> Run(
        EngineOptions options, IReadOnlyList<GenerationRequest> requests, DraftModelProposer? draft, out SpeculationMetrics? metrics,
        bool deviceTarget, out DeviceSamplingCpuBackend? target)
    {
        IModelBackend backend = CpuBackend.Create(BundledModel.Model, new CpuBackendOptions { ThreadCount = 2 });
        target = deviceTarget ? new DeviceSamplingCpuBackend(backend) : null;
        backend = target ?? backend;
        using var engine = new LlmEngine(backend, BundledModel.Tokenizer, options with { CheckIntegrityEachStep = true }, BundledModel.Model.Config.MaxPositions, draft);
        engine.StepCompleted += _ => draft?.CheckIntegrity();
        var tokens = BundledModel.RunTogether(engine, requests);
        Assert.Equal(0, engine.UsedKvBlocks);
        metrics = engine.Speculation;
        return tokens;
    }

    /// <summary>The target's exact next-token distribution at temperature 1 after <paramref name="context"/>.</summary>
    private static double[] Target(int[] context)
    {
        using var backend = CpuBackend.Create(BundledModel.Model, new CpuBackendOptions { ThreadCount = 1 });
        backend.AllocateKvCache(8, 16);
        var batch = new ForwardBatch(context, [new SequenceSlice(0, context.Length, 0, new[] { 0, 1, 2, 3 }, NeedsLogits: true)], 16);
        var output = new ForwardOutput(backend.VocabSize);
        backend.Forward(batch, output);
        var logits = output.LogitRow(0).ToArray();
        var max = logits.Max();
        var e = logits.Select(l => Math.Exp(l - max)).ToArray();
        var sum = e.Sum();
        return [.. e.Select(v => v / sum)];
    }
}
