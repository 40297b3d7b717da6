using System.Globalization;
using System.Text.RegularExpressions;
using Brim.Core;
using Brim.Engine;
using Brim.Telemetry.Exposition;

namespace Brim.Telemetry.Tests;

/// <summary>The telemetry families parse as Prometheus text format 0.0.4: names, HELP/TYPE before samples, finite values.</summary>
public partial class TelemetryFamiliesTests
{
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""^# (?<kind>HELP|TYPE) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<rest>.+)$""")]
    private static partial Regex CommentLine();

    [Fact]
    public void WriteTo_AfterTraffic_IsParseableWithHelpTypeAndFiniteValues()
    {
        var text = Exposition(withTraffic: true, ceilings: true);
        var families = Parse(text);

        foreach (var name in new[]
        {
            "brim:output_tokens_per_second", "brim:batch_occupancy_ratio", "brim:model_flops_utilization_ratio",
            "brim:model_bandwidth_utilization_ratio", "brim:cost_per_million_output_tokens_dollars", "brim:model_flops_total",
            "brim:projected_cost_per_million_output_tokens_dollars", "brim:nvml_available", "brim:traffic_class_ttft_seconds",
            "brim:engine_host_gap_seconds_total",
        })
        {
            Assert.True(families.TryGetValue(name, out var samples), $"{name} is missing");
            Assert.NotEmpty(samples);
        }

        Assert.Contains(families["brim:batch_occupancy_ratio"], s => s.Labels.Contains("window=\"1m\"") && s.Value == 0.25);
        Assert.Contains(families["brim:nvml_available"], s => s.Value == 0);

        // 16 running of which 5 offline, 2 waiting of which 2 offline.
        Assert.Contains(families["brim:requests_running_by_class"], s => s.Labels.EndsWith("traffic_class=\"online\"", StringComparison.Ordinal) && s.Value == 11);
        Assert.Contains(families["brim:requests_running_by_class"], s => s.Labels.EndsWith("traffic_class=\"offline\"", StringComparison.Ordinal) && s.Value == 5);
        Assert.Contains(families["brim:requests_waiting_by_class"], s => s.Labels.EndsWith("traffic_class=\"online\"", StringComparison.Ordinal) && s.Value == 0);
        Assert.Contains(families["brim:requests_waiting_by_class"], s => s.Labels.EndsWith("traffic_class=\"offline\"", StringComparison.Ordinal) && s.Value == 2);
        Assert.All(families["brim:output_tokens_per_second"], s => Assert.StartsWith("model_name=\"m\\\"1\"", s.Labels, StringComparison.Ordinal));
    }

    [Fact]
    public void WriteTo_UnknownCeilingsAndNoTraffic_LeavesOutRatherThanNaN()
    {
        var text = Exposition(withTraffic: false, ceilings: false);
        var families = Parse(text);

        Assert.Empty(families["brim:model_flops_utilization_ratio"]);
        Assert.Empty(families["brim:cost_per_million_output_tokens_dollars"]);
        Assert.Empty(families["brim:device_peak_flops_per_second"]);
        Assert.DoesNotContain("NaN", text, StringComparison.Ordinal);
    }

    private static string Exposition(bool withTraffic, bool ceilings)
    {
        var clock = new ManualClock();
        var options = new TelemetryOptions
        {
            Model = Llama31.Config8B,
            DeviceName = ceilings ? "NVIDIA H100 80GB HBM3" : "mystery",
            UseNvml = false,
        };
        using var hub = new TelemetryHub(options, time: clock);
        if (withTraffic)
        {
            for (var i = 1; i <= 500; i++)
            {
                clock.Advance(0.01);
                hub.RecordStep(new StepRecord(i, 16, 0, 16, 16, 16, 2, 64, 100, 400, 0, 0.008, 0.009, 16 * 700) { RunningOffline = 5, WaitingOffline = 2 });
            }

            hub.RecordRequest(TrafficClass.Online, TimeSpan.FromMilliseconds(80), TimeSpan.FromMilliseconds(9), TimeSpan.FromSeconds(1), 100);
            hub.RecordRequest(TrafficClass.Offline, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(9), TimeSpan.FromSeconds(2), 200);
        }

        clock.Advance(1);
        var text = new PrometheusText(("model_name", "m\"1"));
        hub.WriteTo(text);
        return text.ToString();
    }

    /// <summary>Parses the text, checking every sample belongs to a family announced with HELP then TYPE.</summary>
    private static Dictionary<string, List<(string Labels, double Value)>> Parse(string text)
    {
        var families = new Dictionary<string, List<(string, double)>>(StringComparer.Ordinal);
        string? help = null;
        string? current = null;
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            if (CommentLine().Match(line) is { Success: true } c)
            {
                var name = c.Groups["name"].Value;
                Assert.StartsWith("brim:", name, StringComparison.Ordinal);
                if (c.Groups["kind"].Value == "HELP")
                {
                    Assert.False(families.ContainsKey(name), $"{name} is announced twice");
                    help = name;
                }
                else
                {
                    Assert.Equal(help, name);
                    Assert.Contains(c.Groups["rest"].Value, new[] { "gauge", "counter" });
                    current = name;
                    families[name] = [];
                }

                continue;
            }

            var m = SampleLine().Match(line);
            Assert.True(m.Success, $"not a sample line: '{line}'");
            Assert.Equal(current, m.Groups["name"].Value);
            var raw = m.Groups["value"].Value;
            Assert.True(double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value), $"bad value '{raw}'");
            Assert.True(double.IsFinite(value), $"{line} is not finite");
            families[current!].Add((m.Groups["labels"].Value, value));
        }

        return families;
    }
}
