using System.Globalization;
using System.Text;
using Brim.Telemetry.Reports;

namespace Brim.Server.Bench.RightSizing;

/// <summary>
/// The right-sizing report: the same workload through the large model only, the small model only and the router, as
/// Markdown with an SVG chart of device-seconds per 1M output tokens (what the cost is proportional to), beside the
/// tokens/s, who answered and the share escalated.
/// </summary>
public sealed record RightSizeReport
{
    /// <summary>The small model's served name (the <c>model</c> field of its answers).</summary>
    public required string Small { get; init; }

    public required string Large { get; init; }

    /// <summary>What the small and the large model are, for the title (file, parameters).</summary>
    public string SmallDescription { get; init; } = string.Empty;

    public string LargeDescription { get; init; } = string.Empty;

    public required string Device { get; init; }

    public required DateTimeOffset Date { get; init; }

    /// <summary>Dollars per device-hour; null: costs are shown as device-seconds only.</summary>
    public double? HourlyCost { get; init; }

    /// <summary>The workload and router in words (requests, long share, output length, rule, threshold).</summary>
    public required string Workload { get; init; }

    public required IReadOnlyList<RightSizeResult> Results { get; init; }

    /// <summary>Each model's output tokens/s alone and with the other flooded at the same time; null: not measured.</summary>
    public SideBySide? SideBySide { get; init; }

    public const string ChartFile = "rightsize.svg";

    /// <summary>Writes report.md and its chart into <paramref name="directory"/> (created if needed); returns report.md's path.</summary>
    public string Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var (markdown, chart) = Render();
        File.WriteAllText(Path.Combine(directory, ChartFile), chart);
        var path = Path.Combine(directory, "report.md");
        File.WriteAllText(path, markdown);
        return path;
    }

    public (string Markdown, string Chart) Render()
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Brim right-sizing: {Large} ({LargeDescription}) vs {Small} ({SmallDescription}) on {Device}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Date: {Date:yyyy-MM-dd HH:mm} UTC\n");
        md.Append(CultureInfo.InvariantCulture, $"- Workload: {Workload}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Device cost: {(HourlyCost is { } c ? $"${c:0.00} per hour" : "n/a (no price given: --gpu-hourly-cost)")}\n");
        md.Append("- Device time is measured two ways: the engines' time in steps during each run (both models' engines, from ");
        md.Append("/v1/stats; where the two engines' steps overlap on one device each is charged the overlap, so it double-counts), ");
        md.Append("and the device held for the run (its wall time × 1 device, the server having the device to itself): the cost is ");
        md.Append("the held time. Each run starts with cold prefix caches; the small model's answers that escalated are charged too.\n\n");
        md.Append("| run | model named | requests | answered by small | answered by large | escalated | output tokens | output tokens/s | engine step s | held s | held s per 1M tokens | $ per 1M tokens |\n");
        md.Append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var r in Results)
        {
            md.Append(CultureInfo.InvariantCulture,
                $"| {r.Label} | {r.Model} | {r.Requests} | {Pct(r.ShareAnsweredBy(Small))} | {Pct(r.ShareAnsweredBy(Large))} | {(r.Cascaded > 0 ? $"{r.Escalated} of {r.Cascaded} cascaded ({Pct(r.EscalatedShare)})" : "n/a")} | "
                + $"{r.OutputTokens} | {Num(r.OutputTokensPerSecond)} | {r.DeviceSeconds:0.000} | {r.WallSeconds:0.000} | {Num(r.HeldSecondsPerMillion)} | {(r.CostPerMillion(HourlyCost) is { } cost ? cost.ToString("$0.000", CultureInfo.InvariantCulture) : "n/a")} |\n");
        }

        if (Results.FirstOrDefault(r => r.Model == Large) is { HeldSecondsPerMillion: { } large } && Results.LastOrDefault(r => r.Model != Large && r.Model != Small) is { HeldSecondsPerMillion: { } auto } routed)
        {
            md.Append(CultureInfo.InvariantCulture,
                $"\nThe router answered {Pct(routed.ShareAnsweredBy(Small))} of the requests with the small model at {auto / large:0.00}× the device time held per token of the large model alone.\n");
        }

        if (SideBySide is { } both)
        {
            md.Append("\n## Both models at once\n\n");
            md.Append("Each model's arm above ran alone; here both were sent the whole workload at the same time (two engines, one device).\n\n");
            md.Append("| model | output tokens/s alone | beside the other | kept |\n|---|---:|---:|---:|\n");
            md.Append(CultureInfo.InvariantCulture, $"| {Large} | {Num(both.LargeAlone)} | {Num(both.LargeTogether)} | {Pct(both.LargeTogether / both.LargeAlone)} |\n");
            md.Append(CultureInfo.InvariantCulture, $"| {Small} | {Num(both.SmallAlone)} | {Num(both.SmallTogether)} | {Pct(both.SmallTogether / both.SmallAlone)} |\n");
            md.Append(CultureInfo.InvariantCulture, $"| both | | {Num(both.LargeTogether + both.SmallTogether)} | |\n");
        }

        var chart = SvgChartWriter.Write(new BarChart("Device-seconds held per 1M output tokens", "device s per 1M tokens",
            [.. Results.Select(r => r.Label)], ["device s held per 1M output tokens"], [[.. Results.Select(r => r.HeldSecondsPerMillion ?? 0)]]));
        md.Append(CultureInfo.InvariantCulture, $"\n![device-seconds held per 1M output tokens]({ChartFile})\n");
        return (md.ToString(), chart);
    }

    private static string Num(double? v) => v is { } x ? x.ToString(x >= 100 ? "#,0" : "0.0", CultureInfo.InvariantCulture) : "n/a";

    private static string Pct(double? v) => v is { } x ? (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "n/a";
}

/// <summary>Output tokens/s of each model alone and while the other model is flooded on the same device.</summary>
public sealed record SideBySide(double LargeAlone, double SmallAlone, double LargeTogether, double SmallTogether);
