using System.Globalization;
using Brim.Core.Statistics;
using Brim.Telemetry.Reports;

namespace Brim.Cli.Bench;

/// <summary>
/// The tables and chart of `brim bench mixed` beyond the run table: the frontier of a sweep (unified throughput as a share
/// of offline-only capacity against online p99 TPOT and TTFT as multiples of online-only), the cost per 1M tokens of each
/// run, and the unified run over time as an SVG (online and offline tokens/s, online p99 TPOT).
/// </summary>
internal static class MixedReport
{
    /// <summary>One unified run of a sweep and what it varied.</summary>
    public sealed record SweepPoint(string WindowMs, string TpotBudget, MixedRunResult Run);

    public static void WriteFrontier(TextWriter output, double capacity, MixedRunResult onlineOnly, IReadOnlyList<SweepPoint> points)
    {
        var tpotAlone = Quantile.Of(onlineOnly.Online.Tpot, 0.99);
        var ttftAlone = Quantile.Of(onlineOnly.Online.Ttft, 0.99);
        output.WriteLine("| window (ms) | TPOT budget (--online-tpot-slo-ms) | unified tok/s | % of offline-only capacity | online tok/s | offline tok/s | online TTFT p99 ÷ online-only | online TPOT p99 ÷ online-only | step p99 (ms) |");
        output.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var p in points)
        {
            var r = p.Run;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {p.WindowMs} | {p.TpotBudget} | {r.TotalTokensPerSecond:F0} | {r.TotalTokensPerSecond / capacity:P0} | {r.Online.OutputTokens / r.Seconds:F0} | {r.OfflineTokensPerSecond:F0} | {Ratio(r.Online.Ttft, ttftAlone)} | {Ratio(r.Online.Tpot, tpotAlone)} | {PhaseReport.Ms(r.StepSeconds, 0.99)} |"));
        }
    }

    /// <summary>Cost per 1M output tokens of each run at <paramref name="hourlyCost"/> dollars per device-hour (the device is paid for whether busy or not).</summary>
    public static void WriteCost(TextWriter output, double? hourlyCost, string source, IEnumerable<MixedRunResult> runs)
    {
        output.WriteLine(hourlyCost is { } c
            ? string.Create(CultureInfo.InvariantCulture, $"cost per 1M output tokens at ${c:0.00} per device-hour ({source}):")
            : "cost per 1M output tokens: n/a (no price for this device: --gpu-hourly-cost)");
        output.WriteLine("| run | output tok/s | device s per 1M tokens | $ per 1M tokens |");
        output.WriteLine("|---|---:|---:|---:|");
        foreach (var r in runs)
        {
            var perMillion = r.TotalTokensPerSecond > 0 ? 1e6 / r.TotalTokensPerSecond : double.NaN;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Label} | {r.TotalTokensPerSecond:F0} | {perMillion:F1} | {(hourlyCost is { } h && double.IsFinite(perMillion) ? (h * perMillion / 3600).ToString("$0.000", CultureInfo.InvariantCulture) : "n/a")} |"));
        }
    }

    /// <summary>
    /// The unified run over time, two charts stacked in one SVG: online and offline tokens/s (and online-only's online
    /// tokens/s on the same trace), then online p99 TPOT of the requests finishing in each slice, unified against online-only.
    /// </summary>
    public static string Chart(MixedRunResult unified, MixedRunResult onlineOnly, string trafficName)
    {
        static double Mid(TimelineBin b) => b.StartSeconds + (b.Seconds / 2);
        var tokens = new LineChart(
            $"Online and offline throughput over a {trafficName} run", "seconds into the run", "output tokens/s",
            [
                new ChartSeries("online (unified)", [.. unified.Timeline.Select(b => (Mid(b), b.OnlineTokensPerSecond))]),
                new ChartSeries("offline (unified)", [.. unified.Timeline.Select(b => (Mid(b), b.OfflineTokensPerSecond))]),
                new ChartSeries("online (online-only)", [.. onlineOnly.Timeline.Select(b => (Mid(b), b.OnlineTokensPerSecond))]),
            ]);
        var tpot = new LineChart(
            "Online p99 TPOT of the requests finishing in each slice", "seconds into the run", "ms",
            [
                new ChartSeries("unified", [.. P99Points(unified)]),
                new ChartSeries("online-only", [.. P99Points(onlineOnly)]),
            ]);
        return tpot.Series.All(s => s.Points.Count == 0)
            ? SvgChartWriter.Write(tokens)
            : SvgChartWriter.Stack(SvgChartWriter.Write(tokens), SvgChartWriter.Write(tpot));
    }

    private static IEnumerable<(double X, double Y)> P99Points(MixedRunResult run) =>
        run.Timeline.Where(b => b.OnlineTpot.Count > 0).Select(b => (b.StartSeconds + (b.Seconds / 2), Quantile.Of(b.OnlineTpot, 0.99) * 1e3));

    private static string Ratio(IReadOnlyList<double> samples, double alone)
    {
        var value = samples.Count == 0 ? double.NaN : Quantile.Of(samples, 0.99) / alone;
        return double.IsFinite(value) ? value.ToString("F2", CultureInfo.InvariantCulture) : "n/a";
    }
}
