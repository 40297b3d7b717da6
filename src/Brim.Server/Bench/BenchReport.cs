using System.Globalization;
using System.Text;

namespace Brim.Server.Bench;

/// <summary>Latency percentiles and throughput of a <see cref="BenchRun"/>.</summary>
public sealed record BenchSummary(
    string Target, int Succeeded, int Failed, double DurationSeconds, long OutputTokens, double OutputTokensPerSecond, double RequestsPerSecond,
    Percentiles TimeToFirstToken, Percentiles InterTokenLatency, Percentiles TimePerOutputToken, Percentiles EndToEnd, string? FirstError)
{
    public static BenchSummary Of(BenchRun run)
    {
        var ok = run.Requests.Where(r => r.Succeeded).ToList();
        var tokens = ok.Sum(r => (long)r.OutputTokens);
        return new BenchSummary(
            run.Target, ok.Count, run.Requests.Count - ok.Count, run.DurationSeconds, tokens, tokens / run.DurationSeconds, ok.Count / run.DurationSeconds,
            Percentiles.Of(ok.Select(r => r.TimeToFirstToken)), Percentiles.Of(ok.SelectMany(r => r.InterTokenLatencies)),
            Percentiles.Of(ok.Where(r => r.OutputTokens > 1).Select(r => r.TimePerOutputToken)), Percentiles.Of(ok.Select(r => r.EndToEnd)),
            run.Requests.FirstOrDefault(r => !r.Succeeded)?.Error);
    }

    public string Format()
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.AppendLine(c, $"[{Target}] {Succeeded} ok, {Failed} failed in {DurationSeconds:F2} s: {OutputTokensPerSecond:F0} output tok/s, {RequestsPerSecond:F1} req/s");
        text.AppendLine(c, $"  {"ms",-6} {"mean",9} {"p50",9} {"p90",9} {"p99",9}");
        Row(text, "TTFT", TimeToFirstToken);
        Row(text, "ITL", InterTokenLatency);
        Row(text, "TPOT", TimePerOutputToken);
        Row(text, "E2E", EndToEnd);
        if (FirstError is not null)
        {
            text.AppendLine(c, $"  first error: {FirstError}");
        }

        return text.ToString();
    }

    private static void Row(StringBuilder text, string name, Percentiles p) =>
        text.AppendLine(CultureInfo.InvariantCulture, $"  {name,-6} {p.Mean * 1e3,9:F2} {p.P50 * 1e3,9:F2} {p.P90 * 1e3,9:F2} {p.P99 * 1e3,9:F2}");
}

/// <summary>Mean and nearest-rank percentiles of a sample (zeros when it is empty).</summary>
public readonly record struct Percentiles(double Mean, double P50, double P90, double P99)
{
    public static Percentiles Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return default;
        }

        return new Percentiles(sorted.Average(), Rank(sorted, 0.50), Rank(sorted, 0.90), Rank(sorted, 0.99));
    }

    private static double Rank(double[] sorted, double q) => Core.Statistics.Quantile.OfSorted(sorted, q);
}
