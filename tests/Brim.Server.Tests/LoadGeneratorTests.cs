using Brim.Server.Bench;

namespace Brim.Server.Tests;

/// <summary>The load generator's workload, arrivals and summaries, driven against the engine and the server.</summary>
public class LoadGeneratorTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly BenchWorkloadOptions Small = new() { Requests = 12, InputLength = 16, OutputLength = 12, RangeRatio = 0.5, Seed = 3 };

    [Fact]
    public void Create_SameSeed_SameRequestsWithinTheLengthRanges()
    {
        var a = BenchWorkload.Create(Small, 512, 1, 512);
        var b = BenchWorkload.Create(Small, 512, 1, 512);
        Assert.Equal(a.Select(r => (r.Prompt, r.OutputTokens)), b.Select(r => (r.Prompt, r.OutputTokens)));
        Assert.All(a, r =>
        {
            Assert.InRange(r.Prompt.Length, 8, 24);
            Assert.InRange(r.OutputTokens, 6, 18);
            Assert.Equal(1, r.Prompt[0]);
        });
    }

    [Fact]
    public async Task RunAsync_EngineAndServer_EveryRequestGetsExactlyItsOutputTokens()
    {
        var workload = BenchWorkload.Create(Small, fixture.Host.Tokenizer.VocabSize, fixture.Host.Tokenizer.BosTokenId, fixture.Host.Engine.MaxModelLength);
        var expected = workload.Sum(r => r.OutputTokens);
        using var http = new HttpStreamingTarget(fixture.BaseAddress, ServerFixture.ModelName, ServerFixture.ApiKey);
        foreach (IBenchTarget target in new IBenchTarget[] { new EngineTarget(fixture.Host.Engine), http })
        {
            var run = await LoadGenerator.RunAsync(target, workload, new LoadOptions { RequestRate = 200, MaxConcurrency = 4, Seed = 1 });
            var summary = BenchSummary.Of(run);

            Assert.Equal(workload.Count, summary.Succeeded);
            Assert.Equal(expected, summary.OutputTokens);
            Assert.All(run.Requests, r => Assert.True(r.TimeToFirstToken > 0 && r.TimeToFirstToken <= r.EndToEnd));
            Assert.True(summary.TimeToFirstToken.P50 <= summary.TimeToFirstToken.P99);
        }
    }

    [Fact]
    public void HttpStreamingTarget_NonLoopbackUrl_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => new HttpStreamingTarget(new Uri("http://10.1.2.3:8000/"), null, null));
        using var ok = new HttpStreamingTarget(new Uri("http://[::1]:8000/"), null, null);
    }

    [Fact]
    public void Percentiles_NearestRank()
    {
        var p = Percentiles.Of(Enumerable.Range(1, 100).Select(i => (double)i));
        Assert.Equal((50.5, 50.0, 90.0, 99.0), (p.Mean, p.P50, p.P90, p.P99));
    }
}
