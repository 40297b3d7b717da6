using Brim.Telemetry.Devices;

namespace Brim.Telemetry.Recording;

/// <summary>
/// Rates over a window of wall-clock time. Everything is divided by wall time, idle included — an idle GPU still costs
/// money and does no work — except <see cref="Occupancy"/>, which is the batch fullness while steps ran
/// (<see cref="BusyFraction"/> says how much of the window that was).
/// </summary>
public sealed record WindowStats(
    string Name,
    double WallSeconds,
    int Steps,
    long PrefillTokens,
    long OutputTokens,
    double OutputTokensPerSecond,
    double OutputTokensPerSecondPerDevice,
    double PrefillTokensPerSecond,
    double BusyFraction,
    double? Occupancy,
    double? Mfu,
    double? Mbu,
    double HostInStepSeconds,
    double HostGapSeconds,
    double? CostPerMillionOutputTokens)
{
    /// <summary>Share of the prompt tokens looked up in the prefix cache that were found there; null when nothing started.</summary>
    public double? PrefixCacheHitRate { get; init; }

    /// <summary>Share of the speculative draft tokens verified in the window that were accepted; null when none was verified.</summary>
    public double? SpecAcceptanceRate { get; init; }

    /// <summary>Tokens a verified draft yielded on average (accepted prefix + the target's own token); null when none was verified.</summary>
    public double? SpecMeanAcceptedLength { get; init; }

    /// <summary>Share of the steps' time spent proposing drafts; null when no step ran.</summary>
    public double? SpecDraftTimeShare { get; init; }

    /// <summary>Steps with decoding requests where the speculation policy chose no draft.</summary>
    public long SpecPolicyOffSteps { get; init; }

    internal static WindowStats From(string name, double wallSeconds, in SecondBucket sum, DeviceProfile device)
    {
        var wall = Math.Max(wallSeconds, 1e-9);
        return new WindowStats(
            name,
            wallSeconds,
            sum.Steps,
            sum.PrefillTokens,
            sum.OutputTokens,
            sum.OutputTokens / wall,
            sum.OutputTokens / wall / device.DeviceCount,
            sum.PrefillTokens / wall,
            Math.Min(1, sum.BusySeconds / wall),
            sum.BusySeconds > 0 ? sum.OccupancySeconds / sum.BusySeconds : null,
            StepMetrics.Utilization(sum.Flops, wall, device.AllDevices.PeakFlopsPerSecond),
            StepMetrics.Utilization(sum.Bytes, wall, device.AllDevices.PeakBytesPerSecond),
            sum.HostInStepSeconds,
            sum.HostGapSeconds,
            CostPerMillion(device.CostPerSecond, wallSeconds, sum.OutputTokens))
        {
            PrefixCacheHitRate = sum.PrefixQueriedTokens > 0 ? (double)sum.PrefixHitTokens / sum.PrefixQueriedTokens : null,
            SpecAcceptanceRate = sum.DraftTokens > 0 ? (double)sum.AcceptedDraftTokens / sum.DraftTokens : null,
            SpecMeanAcceptedLength = sum.Drafts > 0 ? 1 + ((double)sum.AcceptedDraftTokens / sum.Drafts) : null,
            SpecDraftTimeShare = sum.BusySeconds > 0 ? sum.DraftSeconds / sum.BusySeconds : null,
            SpecPolicyOffSteps = sum.SpeculationOffSteps,
        };
    }

    /// <summary>Dollars for 1M output tokens: what the devices cost over the window / tokens produced in it.</summary>
    internal static double? CostPerMillion(double? costPerSecond, double seconds, double outputTokens) =>
        costPerSecond is { } c && outputTokens > 0 ? c * seconds / outputTokens * 1e6 : null;
}
