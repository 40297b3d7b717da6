using Brim.Core;
using Brim.Engine.Scheduling;
using Brim.Engine.Speculative;
using Brim.Engine.Stepping;

namespace Brim.Engine.Tests.Speculative;

/// <summary>
/// Verify rows sampled by the backend (<see cref="DeviceSamplingPlan"/>), run on the CPU through
/// <see cref="DeviceSamplingCpuBackend"/>: greedy and seeded stateless requests give exactly the tokens of plain decoding
/// on the host while every verify row is sampled "on the device"; a request the device cannot sample has only its own
/// rows' logits come back, without changing anyone's tokens; logprobs reported by the device are the host's; and the
/// plan sends a sampled draft with a distribution to the host.
/// </summary>
public class DeviceSampledVerificationTests
{
    private static readonly SpeculativeConfig AlwaysNGram = new() { NumSpeculativeTokens = 4, PromptLookupMin = 1, PromptLookupMax = 4, Mode = SpeculationMode.Always };

    [Fact]
    public void Greedy_NGramAlways_VerifyRowsSampledOnDevice_TokenIdenticalToPlainDecoding()
    {
        var requests = SpeculativeDecodingTests.Requests(12, _ => SamplingParams.Greedy(60) with { IgnoreEos = true });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, device: false, out _, out _);
        var speculative = Run(new EngineOptions { NumKvBlocks = 512, Speculative = AlwaysNGram }, requests, device: true, out var backend, out var metrics);

        AssertSame(requests, plain, speculative);
        Assert.True(metrics!.AcceptedTokens > 50 && metrics.AcceptedTokens < metrics.DraftTokens);
        Assert.True(backend!.SampledVerifyRows > 100, $"verify rows must be sampled on the device ({backend.SampledVerifyRows})");
        Assert.Equal(0, backend.LogitVerifyRows);
        Assert.Equal(0, backend.LogitSteps);
    }

    [Fact]
    public void SeededStatelessSampling_VerifyRowsSampledOnDevice_SameTokensAsPlainHostDecoding()
    {
        // Each verify row's uniform is peeked, and one is drawn per token produced: the stream advances as plain decoding's.
        var requests = SpeculativeDecodingTests.Requests(12, i => new SamplingParams
        {
            Temperature = 0.8f,
            TopP = i % 2 == 0 ? 0.95f : 1f,
            TopK = i % 3 == 0 ? 40 : 0,
            MinP = i % 4 == 1 ? 0.05f : 0f,
            Seed = 300 + i,
            MaxTokens = 70,
            IgnoreEos = true,
        });
        var plainHost = Run(new EngineOptions { NumKvBlocks = 512 }, requests, device: false, out _, out _);
        var plainDevice = Run(new EngineOptions { NumKvBlocks = 512 }, requests, device: true, out _, out _);
        var speculative = Run(new EngineOptions { NumKvBlocks = 512, Speculative = AlwaysNGram }, requests, device: true, out var backend, out var metrics);

        AssertSame(requests, plainHost, plainDevice);
        AssertSame(requests, plainHost, speculative);
        Assert.True(metrics!.AcceptedTokens > 0);
        Assert.True(backend!.SampledVerifyRows > 0);
        Assert.Equal(0, backend.LogitVerifyRows);
    }

    [Fact]
    public void GreedyUnderPreemption_VerifyRowsSampledOnDevice_TokenIdenticalToPlainDecoding()
    {
        var requests = SpeculativeDecodingTests.Requests(16, i => SamplingParams.Greedy(40 + (i * 13 % 60)) with { IgnoreEos = true });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, device: false, out _, out _);
        var options = new EngineOptions { NumKvBlocks = 40, MaxBatchTokens = 24, MaxRunningSequences = 16, Speculative = AlwaysNGram };
        var speculative = Run(options, requests, device: true, out var backend, out _);

        AssertSame(requests, plain, speculative);
        Assert.True(backend!.SampledVerifyRows > 0);
    }

    [Fact]
    public void StatefulRequestInTheBatch_OnlyItsRowsReturnLogits_TokensUnchanged()
    {
        // A frequency penalty needs the logits on the host: that request's rows (its verify rows included) return logits,
        // everyone else's stay on the device; the tokens are the same either way.
        var requests = SpeculativeDecodingTests.Requests(6, i => SamplingParams.Greedy(50) with { IgnoreEos = true, FrequencyPenalty = i == 0 ? 0.5f : 0f });
        var plain = Run(new EngineOptions { NumKvBlocks = 512 }, requests, device: false, out _, out _);
        var speculative = Run(new EngineOptions { NumKvBlocks = 512, Speculative = AlwaysNGram }, requests, device: true, out var backend, out _);

        AssertSame(requests, plain, speculative);
        Assert.True(backend!.LogitVerifyRows > 0, "the penalized request's verify rows come back as logits");
        Assert.True(backend.SampledVerifyRows > backend.LogitVerifyRows, "the other requests' rows stay on the device");
        Assert.Equal(0, backend.LogitSteps);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Logprobs_SampledOnDevice_SameTokensAndLogprobsAsTheHost(bool speculate)
    {
        // Chosen-token logprobs (0) and top alternatives (5), greedy and seeded, beside a request that asks for none.
        var requests = SpeculativeDecodingTests.Requests(6, i => new SamplingParams
        {
            Temperature = i % 2 == 0 ? 0f : 0.8f,
            Seed = 40 + i,
            Logprobs = i % 3 == 2 ? null : (i % 3 == 0 ? 0 : 5),
            MaxTokens = 30,
            IgnoreEos = true,
        });
        var options = new EngineOptions { NumKvBlocks = 512, Speculative = speculate ? AlwaysNGram : null };
        var host = RunWithLogprobs(options, requests, device: false, out _);
        var device = RunWithLogprobs(options, requests, device: true, out var backend);

        Assert.True(backend!.LogprobRows > 0, "logprob rows are sampled on the device");
        Assert.Equal(0, backend.ReturnedLogitRows);
        foreach (var r in requests)
        {
            var (hostTokens, hostLogprobs) = host[r.Id];
            var (deviceTokens, deviceLogprobs) = device[r.Id];
            Assert.Equal(hostTokens, deviceTokens);
            Assert.Equal(r.Sampling.Logprobs is null ? 0 : r.Sampling.MaxTokens, deviceLogprobs.Count);
            Assert.Equal(hostLogprobs.Count, deviceLogprobs.Count);
            for (var t = 0; t < deviceLogprobs.Count; t++)
            {
                Assert.Equal(deviceTokens[t], deviceLogprobs[t].TokenId);
                Assert.Equal(hostLogprobs[t].Logprob, deviceLogprobs[t].Logprob);
                Assert.Equal(hostLogprobs[t].Top, deviceLogprobs[t].Top);
                Assert.Equal(r.Sampling.Logprobs, deviceLogprobs[t].Top.Count);
            }
        }
    }

    [Fact]
    public void SamplesOnDevice_DraftKinds_DeviceOnlyWhereTheVerifierNeedsNoLogits()
    {
        Assert.True(DeviceSamplingPlan.SamplesOnDevice(VerifyChunk(new SamplingParams { Temperature = 0.7f }, draftWithQ: false)));
        Assert.True(DeviceSamplingPlan.SamplesOnDevice(VerifyChunk(SamplingParams.Greedy(8), draftWithQ: true)));
        Assert.False(DeviceSamplingPlan.SamplesOnDevice(VerifyChunk(new SamplingParams { Temperature = 0.7f }, draftWithQ: true)));
        Assert.True(DeviceSamplingPlan.SamplesOnDevice(VerifyChunk(new SamplingParams { Temperature = 0.7f, Logprobs = 2 }, draftWithQ: false)));
        Assert.False(DeviceSamplingPlan.SamplesOnDevice(VerifyChunk(SamplingParams.Greedy(8) with { RepetitionPenalty = 1.1f }, draftWithQ: false)));
    }

    [Fact]
    public void AddRows_HostChunk_ReturnsLogitsAndDrawsNoUniform()
    {
        var chunk = VerifyChunk(new SamplingParams { Temperature = 0.7f, Seed = 3 }, draftWithQ: true);
        var next = chunk.Sequence.Random.PeekUniform(0);
        var rows = new List<Core.Execution.DeviceSamplingRow>();
        DeviceSamplingPlan.AddRows(rows, chunk);

        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.True(r.ReturnLogits));
        Assert.Equal(next, chunk.Sequence.Random.PeekUniform(0));
    }

    private static ScheduledChunk VerifyChunk(SamplingParams sampling, bool draftWithQ)
    {
        var seq = new Sequence(new GenerationRequest { Id = new RequestId("v"), PromptTokens = [1, 2], Sampling = sampling }, 0, null);
        var q = new float[8];
        q[3] = 1f;
        if (draftWithQ)
        {
            seq.Speculation.Draft.Add(3, q);
        }
        else
        {
            seq.Speculation.Draft.Add(3);
        }

        return new ScheduledChunk(seq, 2) { Drafts = 1 };
    }

    private static Dictionary<RequestId, int[]> Run(
        EngineOptions options, IReadOnlyList<GenerationRequest> requests, bool device, out DeviceSamplingCpuBackend? backend, out SpeculationMetrics? metrics)
    {
        DeviceSamplingCpuBackend? wrapped = null;
        using var engine = BundledModel.CreateEngine(options, wrap: device ? b => wrapped = new DeviceSamplingCpuBackend(b) : null);
        var tokens = BundledModel.RunTogether(engine, requests);
        Assert.Equal(0, engine.UsedKvBlocks);
        engine.CheckIntegrity();
        backend = wrapped;
        metrics = engine.Speculation;
        return tokens;
    }

    private static Dictionary<RequestId, (int[] Tokens, List<TokenLogprobs> Logprobs)> RunWithLogprobs(
        EngineOptions options, IReadOnlyList<GenerationRequest> requests, bool device, out DeviceSamplingCpuBackend? backend)
    {
        DeviceSamplingCpuBackend? wrapped = null;
        using var engine = BundledModel.CreateEngine(options, wrap: device ? b => wrapped = new DeviceSamplingCpuBackend(b) : null);
        var results = BundledModel.RunWithLogprobs(engine, requests);
        backend = wrapped;
        return results;
    }

    private static void AssertSame(IReadOnlyList<GenerationRequest> requests, Dictionary<RequestId, int[]> expected, Dictionary<RequestId, int[]> actual)
    {
        foreach (var r in requests)
        {
            Assert.Equal(r.Sampling.MaxTokens, actual[r.Id].Length);
            Assert.Equal(expected[r.Id], actual[r.Id]);
        }
    }
}
