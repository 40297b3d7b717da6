using Brim.Core.Statistics;
using Brim.Server.Bench.Traffic;

namespace Brim.Server.Tests.Bench;

/// <summary>The benchmark's online traffic: deterministic, ShareGPT-like lengths, and the arrival shapes it promises.</summary>
public class TrafficGeneratorTests
{
    [Fact]
    public void Generate_SameSeed_SameTraceAndAnotherSeedAnother()
    {
        var options = new TrafficOptions { Shape = TrafficShape.Bursty, Rate = 20, Seconds = 30, Seed = 4 };

        Assert.Equal(TrafficGenerator.Generate(options).Arrivals, TrafficGenerator.Generate(options).Arrivals);
        Assert.NotEqual(TrafficGenerator.Generate(options).Arrivals, TrafficGenerator.Generate(options with { Seed = 5 }).Arrivals);
    }

    [Fact]
    public void ShareGptLengths_ManyDraws_MeansMediansAndTailsAsFitted()
    {
        var lengths = new ShareGptLengths(new Random(1), maxModelLength: 1 << 20);
        var draws = Enumerable.Range(0, 40_000).Select(_ => lengths.Next()).ToList();
        var prompts = draws.Select(d => (double)d.Prompt).ToList();
        var outputs = draws.Select(d => (double)d.Output).ToList();

        Assert.InRange(prompts.Average(), 220 * 0.95, 220 * 1.05);
        Assert.InRange(outputs.Average(), 200 * 0.95, 200 * 1.05);
        Assert.InRange(Quantile.Of(prompts, 0.5), 133 * 0.93, 133 * 1.07); // mean · e^(−σ²/2)
        Assert.InRange(Quantile.Of(outputs, 0.5), 133 * 0.93, 133 * 1.07);
        Assert.InRange(Quantile.Of(prompts, 0.99), 1_360 * 0.85, 1_360 * 1.15); // the heavy tail: ten times the median
        Assert.InRange(Quantile.Of(outputs, 0.99), 1_080 * 0.85, 1_080 * 1.15);
    }

    [Fact]
    public void Generate_SmallContext_EveryRequestFitsIt()
    {
        var trace = TrafficGenerator.Generate(new TrafficOptions { Rate = 100, Seconds = 50, MaxModelLength = 256 });

        Assert.All(trace.Arrivals, a =>
        {
            Assert.InRange(a.PromptTokens, 1, 255);
            Assert.InRange(a.OutputTokens, 1, 256 - a.PromptTokens);
        });
        Assert.Contains(trace.Arrivals, a => a.PromptTokens == 255); // the tail was clipped, not redrawn
    }

    [Fact]
    public void Generate_Poisson_RateAndExponentialGaps()
    {
        var trace = TrafficGenerator.Generate(new TrafficOptions { Rate = 50, Seconds = 200, Seed = 2 });
        var gaps = trace.Arrivals.Zip(trace.Arrivals.Skip(1), (a, b) => b.AtSeconds - a.AtSeconds).ToList();

        Assert.InRange(trace.Arrivals.Count, 10_000 * 0.97, 10_000 * 1.03);
        Assert.InRange(Quantile.Of(gaps, 0.5), 0.02 * Math.Log(2) * 0.93, 0.02 * Math.Log(2) * 1.07); // exponential median
        Assert.Equal([TrafficGenerator.Steady], trace.PhaseNames);
    }

    [Fact]
    public void Generate_Bursty_OnAQuarterOfTheTimeAtFourTimesTheRate()
    {
        var trace = TrafficGenerator.Generate(new TrafficOptions { Shape = TrafficShape.Bursty, Rate = 20, Seconds = 2_000, Seed = 3 });
        var on = trace.SecondsIn(TrafficGenerator.On);
        var off = trace.SecondsIn(TrafficGenerator.Off);

        Assert.Equal(2_000, on + off, 6);
        Assert.InRange(on / 2_000, 0.25 - 0.04, 0.25 + 0.04);
        Assert.All(trace.Arrivals, a => Assert.Equal(TrafficGenerator.On, trace.PhaseAt(a.AtSeconds)));
        Assert.InRange(trace.Arrivals.Count / on, 80 * 0.95, 80 * 1.05);
        Assert.InRange(trace.Arrivals.Count / 2_000.0, 20 * 0.85, 20 * 1.15); // the mean rate is kept
    }

    [Fact]
    public void Generate_Diurnal_DayNearThePeakNightAtFivePercent()
    {
        const double peak = 100, seconds = 2_000;
        var trace = TrafficGenerator.Generate(new TrafficOptions { Shape = TrafficShape.Diurnal, Rate = peak, Seconds = seconds, Seed = 6 });
        double RateIn(double from, double to) => trace.Arrivals.Count(a => a.AtSeconds >= from && a.AtSeconds < to) / (to - from);

        Assert.InRange(RateIn(seconds * 0.48, seconds * 0.52), peak * 0.95, peak * 1.03); // midday
        Assert.InRange(RateIn(0, seconds * 0.02) + RateIn(seconds * 0.98, seconds), 2 * peak * 0.038, 2 * peak * 0.065); // midnight ≈ 5 %
        Assert.Equal([TrafficGenerator.Night, TrafficGenerator.Day, TrafficGenerator.Night], trace.Phases.Select(p => p.Name));
        Assert.Equal(seconds / 2, trace.SecondsIn(TrafficGenerator.Day), 6);

        // Mean share of the peak: day 0.05 + 0.95 × (1 + 2/π) / 2 = 0.827, night 0.05 + 0.95 × (1 − 2/π) / 2 = 0.223.
        var day = trace.Arrivals.Count(a => trace.PhaseAt(a.AtSeconds) == TrafficGenerator.Day) / (double)trace.Arrivals.Count;
        Assert.InRange(day, (0.827 / 1.050) - 0.02, (0.827 / 1.050) + 0.02);
    }
}
