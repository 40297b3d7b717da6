using System.Globalization;
using System.Text;

namespace Brim.Telemetry.Reports;

/// <summary>Writes a <see cref="BenchReport"/> as report.md with SVG charts beside it.</summary>
public static class BenchReportWriter
{
    /// <summary>Writes report.md and its charts into <paramref name="directory"/> (created if needed); returns report.md's path.</summary>
    public static string Write(BenchReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        var (markdown, charts) = Render(report);
        foreach (var (file, svg) in charts)
        {
            File.WriteAllText(Path.Combine(directory, file), svg);
        }

        var path = Path.Combine(directory, "report.md");
        File.WriteAllText(path, markdown);
        return path;
    }

    /// <summary>The Markdown and the charts it links to (file name → SVG text).</summary>
    public static (string Markdown, IReadOnlyDictionary<string, string> Charts) Render(BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        var charts = new Dictionary<string, string>(StringComparer.Ordinal);
        md.Append(CultureInfo.InvariantCulture, $"# Brim benchmark: {report.Model} on {report.Device}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Date: {report.Date:yyyy-MM-dd HH:mm} UTC\n");
        md.Append(CultureInfo.InvariantCulture, $"- Device cost: {(report.HourlyCost is { } c ? $"${c:0.00} per hour ({report.HourlyCostSource})" : "n/a (no price given)")}\n");
        md.Append(CultureInfo.InvariantCulture, $"- MFU/MBU ceilings: {report.CeilingsSource ?? "n/a"}\n\n");

        if (report.BatchSweep.Count > 0)
        {
            BatchSweep(md, charts, report);
        }

        if (report.Batching.Count > 0)
        {
            md.Append("## Static vs continuous batching\n\n| batching | output tokens/s | mean occupancy | E2E p50 | $ per 1M tokens |\n|---|---:|---:|---:|---:|\n");
            foreach (var r in report.Batching)
            {
                md.Append(CultureInfo.InvariantCulture,
                    $"| {r.Mode} | {Num(r.OutputTokensPerSecond)} | {Pct(r.MeanOccupancy)} | {Seconds(r.E2eP50Seconds)} | {Cost(report, r.OutputTokensPerSecond)} |\n");
            }

            charts["batching.svg"] = SvgChartWriter.Write(new BarChart("Static vs continuous batching", "output tokens/s",
                [.. report.Batching.Select(r => r.Mode)], ["output tokens/s"], [[.. report.Batching.Select(r => r.OutputTokensPerSecond)]]));
            md.Append("\n![static vs continuous](batching.svg)\n\n");
        }

        if (report.TrafficMix.Count > 0)
        {
            md.Append("## Online only vs unified (offline backfill)\n\n| setup | online tokens/s | offline tokens/s | total | online TTFT p50 | mean occupancy | $ per 1M tokens |\n|---|---:|---:|---:|---:|---:|---:|\n");
            foreach (var r in report.TrafficMix)
            {
                var total = r.OnlineTokensPerSecond + r.OfflineTokensPerSecond;
                md.Append(CultureInfo.InvariantCulture,
                    $"| {r.Setup} | {Num(r.OnlineTokensPerSecond)} | {Num(r.OfflineTokensPerSecond)} | {Num(total)} | {Seconds(r.OnlineTtftP50Seconds)} | {Pct(r.MeanOccupancy)} | {Cost(report, total)} |\n");
            }

            charts["traffic-mix.svg"] = SvgChartWriter.Write(new BarChart("Online only vs unified backfill", "output tokens/s",
                [.. report.TrafficMix.Select(r => r.Setup)], ["online", "offline"],
                [[.. report.TrafficMix.Select(r => r.OnlineTokensPerSecond)], [.. report.TrafficMix.Select(r => r.OfflineTokensPerSecond)]]));
            md.Append("\n![online only vs unified](traffic-mix.svg)\n\n");
        }

        if (report.Notes is { Length: > 0 } notes)
        {
            md.Append("## Notes\n\n").Append(notes.TrimEnd()).Append("\n\n");
        }

        md.Append("Cost per 1M output tokens = device price per second / output tokens per second × 10⁶, at full use of the device for the run's duration. ");
        md.Append("MFU and MBU count the FLOPs and bytes the model's architecture requires (Brim.Telemetry.Cost.ModelCostModel), not what kernels did.\n");
        return (md.ToString(), charts);
    }

    private static void BatchSweep(StringBuilder md, Dictionary<string, string> charts, BenchReport report)
    {
        var rows = report.BatchSweep.OrderBy(r => r.BatchSize).ToArray();
        var baseline = rows[0].OutputTokensPerSecond;
        var largest = rows[^1].BatchSize;
        md.Append("## Throughput and MBU vs batch size\n\n");
        md.Append("| batch | batch occupancy | output tokens/s | relative | MBU | MFU | GPU busy (NVML) | $ per 1M tokens |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var r in rows)
        {
            md.Append(CultureInfo.InvariantCulture,
                $"| {r.BatchSize} | {Pct((double)r.BatchSize / largest)} | {Num(r.OutputTokensPerSecond)} | {(baseline > 0 ? $"{r.OutputTokensPerSecond / baseline:0.0}×" : "n/a")} | {Pct(r.Mbu)} | {Pct(r.Mfu)} | {Pct(r.GpuUtilization)} | {Cost(report, r.OutputTokensPerSecond)} |\n");
        }

        charts["throughput-vs-batch.svg"] = SvgChartWriter.Write(new LineChart("Decode throughput vs batch size", "batch size (sequences)", "output tokens/s",
            [new ChartSeries("output tokens/s", [.. rows.Select(r => ((double)r.BatchSize, r.OutputTokensPerSecond))])], LogX: true));
        md.Append("\n![throughput vs batch size](throughput-vs-batch.svg)\n\n");

        var utilization = new List<ChartSeries>();
        AddSeries(utilization, "MBU %", rows, r => r.Mbu);
        AddSeries(utilization, "MFU %", rows, r => r.Mfu);
        AddSeries(utilization, "GPU busy % (NVML)", rows, r => r.GpuUtilization);
        if (utilization.Count > 0)
        {
            charts["utilization-vs-batch.svg"] = SvgChartWriter.Write(new LineChart("Utilization vs batch size", "batch size (sequences)", "%", utilization, LogX: true));
            md.Append("![utilization vs batch size](utilization-vs-batch.svg)\n\n");
        }

        if (report.HourlyCost is { } hourly)
        {
            var costs = rows.Where(r => r.OutputTokensPerSecond > 0).Select(r => ((double)r.BatchSize, hourly / 3600 / r.OutputTokensPerSecond * 1e6)).ToArray();
            if (costs.Length > 0)
            {
                charts["cost-vs-batch.svg"] = SvgChartWriter.Write(new LineChart("Cost per 1M output tokens vs batch size", "batch size (sequences)", "$ per 1M tokens",
                    [new ChartSeries("$ per 1M output tokens", costs)], LogX: true));
                md.Append("![cost vs batch size](cost-vs-batch.svg)\n\n");
            }
        }
    }

    private static void AddSeries(List<ChartSeries> series, string name, BatchSweepRow[] rows, Func<BatchSweepRow, double?> value)
    {
        var points = rows.Where(r => value(r) is not null).Select(r => ((double)r.BatchSize, value(r)!.Value * 100)).ToArray();
        if (points.Length > 0)
        {
            series.Add(new ChartSeries(name, points));
        }
    }

    private static string Cost(BenchReport report, double tokensPerSecond) =>
        report.HourlyCost is { } c && tokensPerSecond > 0 ? (c / 3600 / tokensPerSecond * 1e6).ToString("$0.000", CultureInfo.InvariantCulture) : "n/a";

    private static string Num(double v) => v.ToString(v >= 100 ? "#,0" : "0.0", CultureInfo.InvariantCulture);

    private static string Pct(double? v) => v is { } x ? (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "n/a";

    private static string Seconds(double? v) => v is { } x ? (x * 1000).ToString("0", CultureInfo.InvariantCulture) + " ms" : "n/a";
}
