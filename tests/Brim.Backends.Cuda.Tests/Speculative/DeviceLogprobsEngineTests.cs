using Brim.Backends.Cuda.Tests.Support;
using Brim.Core;
using Brim.Engine;
using Brim.Engine.Speculative;

namespace Brim.Backends.Cuda.Tests.Speculative;

/// <summary>
/// Logprobs computed by the device sampler against the host sampler's on the same forward passes (the bundled model on
/// CUDA, device sampling on and hidden): requests asking for the chosen token only, 5 and 20 alternatives, none, and
/// a penalized request whose rows come back as logits beside the device rows of the others. Plain and with prompt
/// lookup (logprobs of device-sampled verify rows).
/// </summary>
public class DeviceLogprobsEngineTests
{
    private const double Tolerance = 1e-3; // fp32 log-normalizer on the device against the host's double

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Engine_LogprobRequests_DeviceLogprobsAreTheHostSamplers(bool speculate)
    {
        Gpu.Require();
        var requests = DeviceVerifyTests.Requests(12, i => new SamplingParams
        {
            Temperature = i % 2 == 0 ? 0f : 0.8f,
            Seed = 900 + i,
            MaxTokens = 40,
            IgnoreEos = true,
            Logprobs = (i % 4) switch { 0 => 0, 1 => 5, 2 => 20, _ => null },
            FrequencyPenalty = i == 5 ? 0.4f : 0f,
        });
        SpeculativeConfig? lookup = speculate ? new() { NumSpeculativeTokens = 4, PromptLookupMin = 1, PromptLookupMax = 4, Mode = SpeculationMode.Always } : null;
        var (deviceTokens, probe, _, deviceLogprobs) = DeviceVerifyTests.RunCore(requests, lookup, deviceSampling: true);
        var (hostTokens, hostProbe, _, hostLogprobs) = DeviceVerifyTests.RunCore(requests, lookup, deviceSampling: false);

        Assert.True(probe.LogprobRows > 100, $"logprob rows must be sampled on the device ({probe.LogprobRows})");
        Assert.True(probe.HostRows > 0 && probe.HostRows < probe.DeviceRows, $"only the penalized request's rows come back ({probe.HostRows} host, {probe.DeviceRows} device)");
        Assert.Equal(0, hostProbe.DeviceRows);
        var forks = 0;
        foreach (var r in requests)
        {
            var (want, got) = (hostTokens[r.Id], deviceTokens[r.Id]);
            var agree = want.Zip(got).TakeWhile(p => p.First == p.Second).Count();
            forks += agree < want.Length ? 1 : 0;
            Assert.True(r.Sampling.IsGreedy ? agree == want.Length : agree > 0, $"{r.Id}: device and host tokens part at {agree}");
            Assert.Equal(r.Sampling.Logprobs is null ? 0 : want.Length, deviceLogprobs[r.Id].Count);
            for (var t = 0; t < agree && r.Sampling.Logprobs is { } top; t++)
            {
                AssertClose(r.Id, t, hostLogprobs[r.Id][t], deviceLogprobs[r.Id][t], top);
            }
        }

        Assert.True(forks <= 2, $"{forks} seeded requests part between device and host sampling");
    }

    private static void AssertClose(RequestId id, int t, TokenLogprobs host, TokenLogprobs device, int top)
    {
        Assert.Equal(host.TokenId, device.TokenId);
        Assert.True(Math.Abs(host.Logprob - device.Logprob) < Tolerance, $"{id} token {t}: chosen logprob {device.Logprob} vs the host's {host.Logprob}");
        Assert.Equal(top, device.Top.Count);
        for (var i = 0; i < top; i++)
        {
            Assert.True(Math.Abs(host.Top[i].Logprob - device.Top[i].Logprob) < Tolerance, $"{id} token {t}, alternative {i}: {device.Top[i].Logprob} vs {host.Top[i].Logprob}");
            // Ids may swap only between alternatives whose logits are within rounding of each other.
            var nearTie = (i > 0 && Math.Abs(host.Top[i].Logprob - host.Top[i - 1].Logprob) < Tolerance)
                || (i + 1 < top && Math.Abs(host.Top[i].Logprob - host.Top[i + 1].Logprob) < Tolerance);
            Assert.True(nearTie || host.Top[i].TokenId == device.Top[i].TokenId, $"{id} token {t}, alternative {i}: id {device.Top[i].TokenId} vs {host.Top[i].TokenId}");
        }
    }
}
