using Brim.Backends.Cuda.Tests.Support;
using Brim.Core;
using Brim.Engine;
using Brim.Engine.Speculative;
using Brim.Models;
using Brim.Tokenization;

namespace Brim.Backends.Cuda.Tests.Speculative;

/// <summary>
/// A draft model on CUDA beside its target (two backends of the bundled model in one process: one context, a stream
/// each, a KV cache each): greedy output equals plain decoding's on CUDA, with room for all and under preemption by
/// recompute and by swap (the draft follows by content), up to the near ties CUDA's batch-dependent rounding allows
/// (see <see cref="DeviceVerifyTests"/>); the draft's argmax comes back as ids, every verify row is sampled on the device,
/// and the draft's blocks all come back.
/// </summary>
public class DraftModelCudaTests
{
    private static readonly SpeculativeConfig DraftConfig = new()
    {
        Method = SpeculativeConfig.DraftModel, Model = "in-process", NumSpeculativeTokens = 3, Mode = SpeculationMode.Always,
    };

    [Theory]
    [InlineData(512, false)]
    [InlineData(28, false)]
    [InlineData(24, true)]
    public void Greedy_CudaDraft_TokensOfPlainDecodingUpToNearTies(int targetBlocks, bool swap)
    {
        Gpu.Require();
        var dir = Path.Combine(AppContext.BaseDirectory, "Models");
        using var model = ModelLoader.Load(Path.Combine(dir, "stories260K.bin"));
        var tokenizer = TokenizerLoader.Load(Path.Combine(dir, "tok512.bin"));
        string[] openings = ["Once upon a time", "The cat sat on the mat. The cat", "Tom and Sue went to the park", "One day, a little bird", "Lily"];
        var requests = Enumerable.Range(0, 12).Select(i => new GenerationRequest
        {
            Id = new RequestId($"r{i}"),
            PromptTokens = tokenizer.Encode(openings[i % openings.Length] + new string('!', i % 3)),
            Sampling = SamplingParams.Greedy(30 + (i * 11 % 50)) with { IgnoreEos = true },
        }).ToList();

        // The reference: plain decoding with the top-2 logprobs, to tell a near tie from a wrong token.
        var plainRequests = requests.Select(r => r with { Sampling = r.Sampling with { Logprobs = 2 } }).ToList();
        var (plain, logprobs, _) = Run(model, tokenizer, plainRequests, new EngineOptions { NumKvBlocks = 512, SwapSpaceBytes = 0 }, null);

        var draftBackend = new SamplingProbe(new CudaBackend(model), deviceSampling: true);
        using var draft = new DraftModelProposer(draftBackend, targetBlocks, blockSize: 16, model.Config.VocabSize);
        var options = new EngineOptions
        {
            NumKvBlocks = targetBlocks, MaxBatchTokens = 64, MaxRunningSequences = 12, Speculative = DraftConfig,
            SwapSpaceBytes = swap ? 64L << 20 : 0,
        };
        var (speculative, _, stats) = Run(model, tokenizer, requests, options, draft);

        Assert.True(stats.Metrics!.DraftTokens > 100, $"{stats.Metrics.DraftTokens} draft tokens");
        Assert.True(stats.Metrics.AcceptedTokens > stats.Metrics.DraftTokens / 2, "the model is its own (nearly perfect) greedy draft");
        Assert.True(stats.Probe.DeviceVerifyRows > 0 && stats.Probe.HostVerifyRows == 0, "greedy verify rows are sampled on the device");
        if (targetBlocks < 64)
        {
            Assert.True(stats.Preemptions > 0, "the small cache must preempt");
        }

        DeviceVerifyTests.AssertEqualUpToNearTies(requests, plain, speculative, logprobs);
        draft.CheckIntegrity();
        draft.ForgetFinished();
        Assert.Equal(0, draft.UsedBlocks);
    }

    private static (Dictionary<RequestId, int[]> Tokens, Dictionary<RequestId, List<TokenLogprobs>> Logprobs, (SpeculationMetrics? Metrics, SamplingProbe Probe, long Preemptions) Stats) Run(
        LoadedModel model, ITokenizer tokenizer, IReadOnlyList<GenerationRequest> requests, EngineOptions options, DraftModelProposer? draft)
    {
        using var probe = new SamplingProbe(new CudaBackend(model), deviceSampling: true);
        using var engine = new LlmEngine(probe, tokenizer, options with { CheckIntegrityEachStep = true }, model.Config.MaxPositions, draft);
        engine.StepCompleted += _ => draft?.CheckIntegrity();
        var (tokens, logprobs) = EngineRun.Collect(engine, requests);
        return (tokens, logprobs, (engine.Speculation, probe, engine.Snapshot().Preemptions));
    }
}
