using Brim.Server.Bench.RightSizing;

namespace Brim.Server.Tests.Routing;

/// <summary>The right-sizing benchmark against a routed server of two models: who answered each arm, escalations, measured device time.</summary>
public class RightSizeBenchmarkTests(RoutedFixture fixture) : IClassFixture<RoutedFixture>
{
    [Fact]
    public async Task RunAsync_ThreeArms_EachAnsweredAsRoutedAndMeasured()
    {
        var workload = RightSizeWorkload.Create(12, longShare: 0.25, longSentences: 12, seed: 3);
        Assert.Equal(3, workload.Count(w => w.Long));
        var bench = new RightSizeBenchmark(fixture.Http, maxTokens: 16, concurrency: 4);

        var large = await bench.RunAsync("large only", TwoModelFixture.Large, workload);
        var small = await bench.RunAsync("small only", TwoModelFixture.Small, workload);
        var auto = await bench.RunAsync("auto", "auto", workload);

        Assert.Equal(1.0, large.ShareAnsweredBy(TwoModelFixture.Large));
        Assert.Equal(1.0, small.ShareAnsweredBy(TwoModelFixture.Small));
        Assert.Equal(0, large.Cascaded);

        // The long prompts go large by the rule; the short ones are cascaded, and those escalated are answered large too.
        Assert.Equal(9, auto.Cascaded);
        Assert.Equal((3 + auto.Escalated) / 12.0, auto.ShareAnsweredBy(TwoModelFixture.Large), 9);
        foreach (var r in new[] { large, small, auto })
        {
            Assert.True(r.DeviceSeconds > 0 && r.DeviceSeconds < r.WallSeconds * 2 + 1, $"{r.Label}: {r.DeviceSeconds} device s in {r.WallSeconds} s");
            Assert.True(r.OutputTokens > 0);
            // The cost is the device held for the arm (its wall time), not the engines' summed step time.
            Assert.Equal(r.WallSeconds / r.OutputTokens * 1e6, r.HeldSecondsPerMillion!.Value, 6);
            Assert.Equal(r.HeldSecondsPerMillion.Value * 2 / 3600, r.CostPerMillion(2)!.Value, 9);
        }

        var (markdown, chart) = new RightSizeReport
        {
            Small = TwoModelFixture.Small, Large = TwoModelFixture.Large, Device = "cpu", Date = DateTimeOffset.UnixEpoch, HourlyCost = 1, Workload = "test", Results = [large, small, auto],
            SideBySide = new SideBySide(LargeAlone: 100, SmallAlone: 400, LargeTogether: 80, SmallTogether: 300),
        }.Render();
        Assert.Contains("| auto | auto | 12 |", markdown, StringComparison.Ordinal);
        Assert.Contains(FormattableString.Invariant($"| {auto.DeviceSeconds:0.000} | {auto.WallSeconds:0.000} |"), markdown, StringComparison.Ordinal);
        Assert.Contains($"of 9 cascaded", markdown, StringComparison.Ordinal);
        Assert.Contains($"| {TwoModelFixture.Large} | 100 | 80.0 | 80.0 % |", markdown, StringComparison.Ordinal);
        Assert.Contains($"| {TwoModelFixture.Small} | 400 | 300 | 75.0 % |", markdown, StringComparison.Ordinal);
        Assert.StartsWith("<svg", chart, StringComparison.Ordinal);
    }
}
