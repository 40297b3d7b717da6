using Brim.Cli.Bench;

namespace Brim.Cli.Tests;

public class RunTimelineTests
{
    [Fact]
    public void ToBins_TokensAndTpots_LandInTheirSliceOfTheRun()
    {
        var timeline = new RunTimeline(seconds: 24, bins: 24);
        timeline.AddTokens(0.5, online: true, 10);
        timeline.AddTokens(23.9, online: false, 7);
        timeline.AddTokens(30, online: false, 1); // past the end (a late update): the last slice
        timeline.AddOnlineTpot(12.2, 0.01);

        var bins = timeline.ToBins();

        Assert.Equal(24, bins.Count);
        Assert.Equal(10, bins[0].OnlineTokensPerSecond);
        Assert.Equal(8, bins[23].OfflineTokens);
        Assert.Equal([0.01], bins[12].OnlineTpot);
        Assert.Equal(12, bins[12].StartSeconds);
        Assert.Equal(18, bins.Sum(b => b.OnlineTokens + b.OfflineTokens));
    }
}
