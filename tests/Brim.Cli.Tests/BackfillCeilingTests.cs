using Brim.Cli.Bench;

namespace Brim.Cli.Tests;

public class BackfillCeilingTests
{
    // Shaped like the H100 runs of the 8B shape: online-only steps of 8 ms making 25.6 tokens (p99 TPOT 10 ms),
    // offline-only steps of 11.5 ms making 256.
    private static readonly MixedRunResult OnlineOnly = Run("online-only", steps: 1000, stepMs: 8, online: 25_600, offline: 0, tpotP99Ms: 10);
    private static readonly MixedRunResult OfflineOnly = Run("offline-only", steps: 696, stepMs: 11.5, online: 0, offline: 256 * 696, tpotP99Ms: null);

    [Fact]
    public void Estimate_TwoMeasuredPoints_TheAllowanceBuysTokensAtTheirSlope()
    {
        var ceiling = BackfillCeiling.Estimate(OnlineOnly, OfflineOnly)!;

        var perToken = (11.5e-3 - 8e-3) / (256 - 25.6);
        Assert.Equal(perToken, ceiling.SecondsPerToken, 1e-12);
        Assert.Equal(1e-3, ceiling.AllowanceSeconds, 1e-6); // 10 % of the 10 ms p99
        Assert.Equal(1e-3 / perToken, ceiling.OfflineTokensPerStep, 1e-6);
        var offline = 1e-3 / perToken / 9e-3; // tokens a step over the lengthened step
        Assert.Equal(offline, ceiling.OfflineTokensPerSecond, 1e-6);
        Assert.Equal(3_200 + offline, ceiling.TotalTokensPerSecond, 1e-6);
        Assert.Equal((3_200 + offline) / (256 * 696 / 8.0), ceiling.ShareOfCapacity, 1e-9);
        Assert.InRange(ceiling.ShareOfCapacity, 0.45, 0.49); // far from 80 %: the online step has little room
    }

    [Fact]
    public void Estimate_LargerTolerance_HigherCeiling()
    {
        Assert.True(BackfillCeiling.Estimate(OnlineOnly, OfflineOnly, tolerance: 0.5)!.ShareOfCapacity > BackfillCeiling.Estimate(OnlineOnly, OfflineOnly)!.ShareOfCapacity);
    }

    [Fact]
    public void Estimate_NothingToCompare_Null()
    {
        Assert.Null(BackfillCeiling.Estimate(OnlineOnly with { Online = OnlineOnly.Online with { Tpot = [] } }, OfflineOnly));
        Assert.Null(BackfillCeiling.Estimate(OnlineOnly, OnlineOnly)); // no second point
        Assert.Null(BackfillCeiling.Estimate(OnlineOnly, OfflineOnly with { StepSeconds = [] }));
        // Bigger steps that make no more tokens: no slope to price a token with.
        Assert.Null(BackfillCeiling.Estimate(OnlineOnly, Run("offline-only", steps: 1000, stepMs: 11.5, online: 0, offline: 20_000, tpotP99Ms: null)));
    }

    private static MixedRunResult Run(string label, int steps, double stepMs, long online, long offline, double? tpotP99Ms)
    {
        IReadOnlyList<double> tpot = tpotP99Ms is { } t ? [.. Enumerable.Repeat(t * 0.8e-3, 95), .. Enumerable.Repeat(t * 1e-3, 5)] : [];
        return new MixedRunResult(
            label, Seconds: 8, new ClassResult(10, online, [], tpot), new ClassResult(10, offline, [], []), Occupancy: 0.5, OfflineSlotShare: 0)
        {
            StepSeconds = [.. Enumerable.Repeat(stepMs * 1e-3, steps)],
        };
    }
}
