using System.Globalization;
using Brim.Core.Statistics;

namespace Brim.Cli.Bench;

/// <summary>
/// The unified run by phase of the online traffic, against the online-only run's same phase (the same trace): online
/// TTFT and TPOT p50/p99, offline throughput and offline's share of the tokens.
/// </summary>
internal static class PhaseReport
{
    public static void Write(TextWriter output, MixedRunResult unified, MixedRunResult onlineOnly)
    {
        output.WriteLine("| phase | seconds | online TTFT p50 / p99 (ms) | online-only TTFT p99 (ms) | online TPOT p50 / p99 (ms) | online-only TPOT p99 (ms) | online tok/s | offline tok/s | offline share |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var phase in unified.Phases)
        {
            var alone = onlineOnly.Phases.FirstOrDefault(p => p.Name == phase.Name)?.Online ?? ClassResult.Empty;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {phase.Name} | {phase.Seconds:F1} | {Ms(phase.Online.Ttft, 0.5)} / {Ms(phase.Online.Ttft, 0.99)} | {Ms(alone.Ttft, 0.99)} | {Ms(phase.Online.Tpot, 0.5)} / {Ms(phase.Online.Tpot, 0.99)} | {Ms(alone.Tpot, 0.99)} | {(phase.Seconds > 0 ? phase.Online.OutputTokens / phase.Seconds : 0):F0} | {phase.OfflineTokensPerSecond:F0} | {phase.OfflineShare:P0} |"));
        }
    }

    public static string Ms(IReadOnlyList<double> samples, double q) =>
        samples.Count == 0 ? "n/a" : (Quantile.Of(samples, q) * 1e3).ToString("F1", CultureInfo.InvariantCulture);
}
