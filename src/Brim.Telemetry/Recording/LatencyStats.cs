using Brim.Core;

namespace Brim.Telemetry.Recording;

/// <summary>Latency of the requests of one traffic class that completed within a window (seconds; null when none did).</summary>
public sealed record LatencyStats(
    TrafficClass TrafficClass,
    int Requests,
    long OutputTokens,
    double? TtftP50,
    double? TtftP95,
    double? TpotP50,
    double? TpotP95,
    double? E2eP50,
    double? E2eP95)
{
    internal static LatencyStats From(TrafficClass trafficClass, IReadOnlyList<CompletedRequest> requests)
    {
        var ttft = requests.Select(r => r.Ttft).Order().ToArray();
        var tpot = requests.Where(r => r.OutputTokens > 1).Select(r => r.Tpot).Order().ToArray();
        var e2e = requests.Select(r => r.E2e).Order().ToArray();
        return new LatencyStats(trafficClass, requests.Count, requests.Sum(r => (long)r.OutputTokens),
            Quantile(ttft, 0.5), Quantile(ttft, 0.95), Quantile(tpot, 0.5), Quantile(tpot, 0.95), Quantile(e2e, 0.5), Quantile(e2e, 0.95));
    }

    /// <summary>Nearest-rank quantile of sorted values (Brim's one definition), null when there are none.</summary>
    internal static double? Quantile(double[] sorted, double q) =>
        sorted.Length == 0 ? null : Core.Statistics.Quantile.OfSorted(sorted, q);
}

/// <summary>A finished request as the server reports it.</summary>
internal readonly record struct CompletedRequest(long Second, double Ttft, double Tpot, double E2e, int OutputTokens);
