using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Brim.Telemetry.Tests.Browser;

/// <summary>
/// The dashboard in a real browser: headless Chromium loads / from a live server while requests flow, and every chart
/// must fill with data (or, for GPU counters on a machine without NVML, say why it cannot).
/// </summary>
public class DashboardBrowserTests(ITestOutputHelper output)
{
    private static readonly string[] Charts =
        ["chart-throughput", "chart-occupancy", "chart-utilization", "chart-gpu", "chart-queue", "chart-latency", "chart-cost"];

    [SkippableFact]
    public async Task Dashboard_WhileRequestsFlow_EveryChartUpdates()
    {
        Skip.IfNot(File.Exists(HeadlessChromium.ExecutablePath),
            $"{HeadlessChromium.ExecutablePath} is absent: install Debian's chromium (apt-get install -y chromium) to run the browser test");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await using var server = await LiveTelemetryServer.StartAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(server.Address, 1440, 1500, timeout.Token);
        using var traffic = new CancellationTokenSource();
        var load = server.RunTrafficAsync(concurrency: 10, traffic.Token);

        JsonNode? first = null, state = null;
        var clock = Stopwatch.StartNew();
        try
        {
            // Wait until every chart has points, then once more so that the counts must have grown (the page is live).
            while (clock.Elapsed < TimeSpan.FromSeconds(40))
            {
                await Task.Delay(500, timeout.Token);
                state = await browser.EvaluateAsync("JSON.parse(JSON.stringify(window.brimDashboard ?? null))", timeout.Token);
                if (state is not null && Charts.All(id => IsDrawn(state, id)))
                {
                    if (first is null)
                    {
                        first = state;
                    }
                    else if (Points(state, "chart-throughput") > Points(first, "chart-throughput") && (int)state["polls"]! > (int)first["polls"]!)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            await traffic.CancelAsync();
            await load;
        }

        var screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", "dashboard.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await File.WriteAllBytesAsync(screenshot, await browser.ScreenshotAsync(timeout.Token), timeout.Token);
        output.WriteLine($"screenshot: {screenshot}");
        output.WriteLine($"page state: {state?.ToJsonString()}");

        Assert.NotNull(state);
        Assert.Equal(0, (int)state["errors"]!);
        foreach (var id in Charts)
        {
            Assert.True(IsDrawn(state, id), $"{id} stayed empty: {state["charts"]?[id]?.ToJsonString() ?? "never drawn"}");
        }

        Assert.NotNull(first);
        Assert.True(Points(state, "chart-throughput") > Points(first, "chart-throughput"), "the throughput chart did not update");
        var gpu = state["charts"]!["chart-gpu"]!;
        if ((string?)gpu["state"] == "unavailable")
        {
            Assert.StartsWith("NVML not available: ", (string?)gpu["reason"], StringComparison.Ordinal);
        }

        var header = (string?)await browser.EvaluateAsync("document.getElementById('facts').textContent", timeout.Token);
        Assert.Contains("configured: nominal test values", header, StringComparison.Ordinal);
    }

    private static int Points(JsonNode state, string chart) => (int?)state["charts"]?[chart]?["points"] ?? 0;

    // The GPU chart may honestly be unavailable (no NVML); every other chart must have drawn data.
    private static bool IsDrawn(JsonNode state, string chart) =>
        (string?)state["charts"]?[chart]?["state"] is "live" || (chart == "chart-gpu" && (string?)state["charts"]?[chart]?["state"] == "unavailable");
}
