using Brim.Core;
using Brim.Engine.Tests.Speculative;

namespace Brim.Engine.Tests;

/// <summary>
/// Host rows sampled on several cores at once (<see cref="Sampling.HostRowSampling"/>, forced on the bundled model's small
/// vocabulary) give exactly the tokens and logprobs of sampling them one by one: greedy and seeded requests with penalties,
/// logit bias and logprobs, on a backend that samples nothing and on one that samples the other rows itself.
/// </summary>
public class HostRowSamplingTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Engine_ParallelHostRows_SameTokensAndLogprobsAsOneByOne(bool deviceSamplesTheRest)
    {
        var requests = SpeculativeDecodingTests.Requests(10, i => new SamplingParams
        {
            Temperature = i % 3 == 0 ? 0f : 0.9f,
            TopP = i % 2 == 0 ? 0.9f : 1f,
            Seed = 60 + i,
            MaxTokens = 40,
            IgnoreEos = true,
            FrequencyPenalty = i % 4 == 0 ? 0f : 0.3f,
            RepetitionPenalty = i % 5 == 1 ? 1.2f : 1f,
            LogitBias = i == 7 ? new Dictionary<int, float> { [5] = 3f } : null,
            Logprobs = i % 2 == 1 ? 3 : null,
        });
        var oneByOne = Run(requests, parallelWork: long.MaxValue, deviceSamplesTheRest, out _);
        var parallel = Run(requests, parallelWork: 0, deviceSamplesTheRest, out var backend);

        foreach (var r in requests)
        {
            Assert.Equal(oneByOne[r.Id].Tokens, parallel[r.Id].Tokens);
            Assert.Equal(oneByOne[r.Id].Logprobs.Select(l => (l.TokenId, l.Logprob)), parallel[r.Id].Logprobs.Select(l => (l.TokenId, l.Logprob)));
        }

        Assert.True(backend is null || backend.ReturnedLogitRows > 100, "the penalized requests' rows come back to the host");
    }

    private static Dictionary<RequestId, (int[] Tokens, List<TokenLogprobs> Logprobs)> Run(
        IReadOnlyList<GenerationRequest> requests, long parallelWork, bool device, out DeviceSamplingCpuBackend? backend)
    {
        DeviceSamplingCpuBackend? wrapped = null;
        var options = new EngineOptions { NumKvBlocks = 256, HostSamplingParallelWork = parallelWork };
        using var engine = BundledModel.CreateEngine(options, wrap: device ? b => wrapped = new DeviceSamplingCpuBackend(b) : null);
        var results = BundledModel.RunWithLogprobs(engine, requests);
        backend = wrapped;
        return results;
    }
}
