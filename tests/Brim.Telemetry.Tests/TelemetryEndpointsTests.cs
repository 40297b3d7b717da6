using System.Net;
using System.Text.Json;

namespace Brim.Telemetry.Tests;

/// <summary>The HTTP surface over a real engine and Kestrel, without a browser.</summary>
public class TelemetryEndpointsTests
{
    [Fact]
    public async Task GetStats_WhileRequestsRun_ReportsEngineTruth()
    {
        await using var server = await LiveTelemetryServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        using var traffic = new CancellationTokenSource();
        var load = server.RunTrafficAsync(concurrency: 10, traffic.Token);

        // Traffic runs until the stats have seen what this test checks (a finished online request, a sampled queue), up
        // to 30 s: a fixed 2.5 s window was sometimes too short on a busy 2-core machine.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && !await SawTrafficAsync(http));

        await traffic.CancelAsync();
        await load;

        using var response = await http.GetAsync(new Uri("/v1/stats", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;

        Assert.True(root.GetProperty("totals").GetProperty("steps").GetInt64() > 0);
        Assert.True(root.GetProperty("totals").GetProperty("outputTokens").GetInt64() > 0);
        var last = root.GetProperty("lastStep");
        Assert.Equal(8, last.GetProperty("record").GetProperty("maxRunning").GetInt32());
        Assert.True(last.GetProperty("mbu").GetDouble() > 0);
        Assert.Equal("cpu", root.GetProperty("device").GetProperty("card").GetProperty("name").GetString());
        Assert.False(root.GetProperty("gpu").GetProperty("available").GetBoolean());
        Assert.StartsWith("NVML not available: ", root.GetProperty("gpu").GetProperty("status").GetString(), StringComparison.Ordinal);
        var series = root.GetProperty("series");
        Assert.Contains(series.GetProperty("outputTokensPerSecond").EnumerateArray(), v => v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0);
        // 10 clients on 8 slots: some requests wait.
        Assert.Contains(series.GetProperty("waiting").EnumerateArray(), v => v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0);
        var online = root.GetProperty("latency").EnumerateArray().Single(l => l.GetProperty("trafficClass").GetString() == "Online");
        Assert.True(online.GetProperty("requests").GetInt32() > 0);
        Assert.True(online.GetProperty("ttftP50").GetDouble() > 0);
    }

    private static async Task<bool> SawTrafficAsync(HttpClient http)
    {
        using var json = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1/stats", UriKind.Relative)));
        var root = json.RootElement;
        var online = root.GetProperty("latency").EnumerateArray().Where(l => l.GetProperty("trafficClass").GetString() == "Online");
        return online.Any(l => l.GetProperty("requests").GetInt32() > 0)
            && root.GetProperty("series").GetProperty("waiting").EnumerateArray().Any(v => v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0)
            && root.GetProperty("series").GetProperty("outputTokensPerSecond").EnumerateArray().Any(v => v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0);
    }

    [Fact]
    public async Task GetDashboard_ServesEmbeddedAssetsWithoutExternalReferences()
    {
        await using var server = await LiveTelemetryServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };

        foreach (var (path, type) in new[] { ("/", "text/html"), ("/dashboard/dashboard.js", "text/javascript"), ("/dashboard/dashboard.css", "text/css") })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("http://", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("https://", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("//cdn", body, StringComparison.OrdinalIgnoreCase);
        }

        using var missing = await http.GetAsync(new Uri("/dashboard/missing.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
