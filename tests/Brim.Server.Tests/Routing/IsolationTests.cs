using System.Diagnostics;
using Brim.Core.Statistics;
using Xunit.Abstractions;

namespace Brim.Server.Tests.Routing;

/// <summary>
/// Isolation between the models of one server: a flood of requests on the large model does not starve the small one.
/// Each engine has its own step thread, queue and KV cache, so the small model's requests never wait behind the large
/// model's; what they share is the machine (here two CPU cores, one thread per engine, also serving HTTP). The bound:
/// the small model's p90 latency during the flood stays within <see cref="Bound"/>× its p90 alone (plus 50 ms for
/// timer and scheduling noise on a shared CI machine). Starving it — the small request waiting for the flood to drain —
/// would take seconds against tens of milliseconds alone, far beyond the bound.
/// </summary>
public class IsolationTests(TwoModelFixture fixture, ITestOutputHelper output) : IClassFixture<TwoModelFixture>
{
    public const double Bound = 8;
    private const int Probes = 20;

    [Fact]
    public async Task FloodOnLarge_SmallModelLatency_WithinBoundOfAlone()
    {
        await ProbeAsync(3); // warm-up
        var alone = await ProbeAsync(Probes);

        using var stop = new CancellationTokenSource();
        long flooded = 0;
        var flood = Enumerable.Range(0, 24).Select(async i =>
        {
            while (!stop.IsCancellationRequested)
            {
                var (status, _) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
                    new { model = TwoModelFixture.Large, prompt = "Once upon a time", max_tokens = 96, ignore_eos = true, temperature = 1, seed = i });
                Assert.Equal(200, status);
                Interlocked.Increment(ref flooded);
            }
        }).ToList();

        // Once the large model's batch is full, probe the small one while a sampler records how full it stays. The flood's
        // clients move in lockstep (they start together, so their 96-token requests end together): between two rounds
        // the batch is empty for an instant, which a single look at its size could land on.
        var large = fixture.Hosts[1].Engine;
        var filling = Stopwatch.StartNew();
        while (large.Snapshot().Running < 16 && filling.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(5);
        }

        var running = new List<int>();
        using var probing = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            do
            {
                lock (running)
                {
                    running.Add(large.Snapshot().Running);
                }

                await Task.Delay(5);
            }
            while (!probing.IsCancellationRequested);
        });
        var during = await ProbeAsync(Probes);
        await probing.CancelAsync();
        await sampler;
        await stop.CancelAsync();
        await Task.WhenAll(flood);
        var medianRunning = running.Order().ElementAt(running.Count / 2);

        var (p90Alone, p90During) = (Quantile.Of(alone, 0.9), Quantile.Of(during, 0.9));
        output.WriteLine($"small model p50/p90 alone {Quantile.Of(alone, 0.5) * 1e3:F1}/{p90Alone * 1e3:F1} ms, during the flood {Quantile.Of(during, 0.5) * 1e3:F1}/{p90During * 1e3:F1} ms ({p90During / p90Alone:F1}x); the large model ran a median of {medianRunning} sequences (of {running.Count} looks) while probing, {Interlocked.Read(ref flooded)} flood requests finished");
        Assert.True(medianRunning >= 16, $"the flood must fill the large model's batch while probing: a median of {medianRunning} running over {running.Count} looks");
        Assert.True(p90During <= (Bound * p90Alone) + 0.05, $"p90 {p90During * 1e3:F1} ms during the flood vs {p90Alone * 1e3:F1} ms alone: beyond {Bound}x");
    }

    private async Task<List<double>> ProbeAsync(int count)
    {
        var latencies = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var (status, _) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
                new { model = TwoModelFixture.Small, prompt = "Once upon a time", max_tokens = 16, ignore_eos = true, temperature = 0 });
            Assert.Equal(200, status);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        return latencies;
    }
}
