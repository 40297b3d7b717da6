using System.Text;
using System.Text.Json;
using Brim.Engine;
using Brim.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Tests;

/// <summary>Backpressure (429 with a bounded queue), draining on shutdown, health and readiness, metrics.</summary>
public class LifecycleTests
{
    [Fact]
    public async Task WaitingQueueFull_Returns429WithRetryAfter_OthersComplete()
    {
        // One batch slot and one waiting place: of many simultaneous long requests, only two fit at a time.
        await using var server = await StartAsync(new EngineOptions { NumKvBlocks = 64, MaxRunningSequences = 1, MaxWaitingRequests = 1 });
        using var http = new HttpClient { BaseAddress = server.Server.BaseAddress };
        var body = JsonSerializer.Serialize(new { prompt = new[] { 1 }, max_tokens = 300, ignore_eos = true, temperature = 0 });
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ =>
            http.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"))));

        var refused = responses.Where(r => (int)r.StatusCode == 429).ToList();
        Assert.NotEmpty(refused);
        Assert.All(responses, r => Assert.Contains((int)r.StatusCode, new[] { 200, 429 }));
        foreach (var r in refused)
        {
            Assert.Equal(TimeSpan.FromSeconds(1), r.Headers.RetryAfter?.Delta);
            var error = System.Text.Json.Nodes.JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("rate_limit_error", (string?)error["type"]);
        }

        var done = await http.PostAsync("v1/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(200, (int)done.StatusCode);
    }

    [Fact]
    public async Task Stop_WhileStreaming_FinishesTheInFlightRequestThenRefusesNewOnes()
    {
        await using var server = await StartAsync(new EngineOptions { NumKvBlocks = 64 });
        using var http = new HttpClient { BaseAddress = server.Server.BaseAddress };
        Assert.Equal("ready", await http.GetStringAsync("ready"));
        Assert.Equal("ok", await http.GetStringAsync("health"));

        var body = JsonSerializer.Serialize(new { prompt = new[] { 1 }, max_tokens = 400, ignore_eos = true, temperature = 0, stream = true });
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: {", await reader.ReadLineAsync(), StringComparison.Ordinal);

        var stopping = server.Server.StopAsync();
        var lines = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length > 0)
            {
                lines.Add(line);
            }
        }

        await stopping;
        Assert.Equal("data: [DONE]", lines[^1]);
        Assert.Contains("\"finish_reason\":\"length\"", lines[^2], StringComparison.Ordinal);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync("health"));
    }

    [Fact]
    public async Task Metrics_AfterAStreamedRequest_CountTokensAndLatencies()
    {
        await using var server = await StartAsync(new EngineOptions { NumKvBlocks = 64 });
        using var http = new HttpClient { BaseAddress = server.Server.BaseAddress };
        var before = await MetricsText.ScrapeAsync(http);
        Assert.Equal(0, MetricsText.Sum(before, "brim:time_to_first_token_seconds_count"));

        var (events, done) = await HttpJson.StreamAsync(http, "v1/completions",
            new { prompt = new[] { 1, 403 }, max_tokens = 20, ignore_eos = true, stream = true });
        Assert.True(done);

        var after = await MetricsText.ScrapeAsync(http);
        const string online = MetricsText.Online;
        Assert.Equal(1, MetricsText.Value(after, "brim:time_to_first_token_seconds_count", online));
        Assert.Equal(19, MetricsText.Value(after, "brim:inter_token_latency_seconds_count", online));
        Assert.Equal(1, MetricsText.Value(after, "brim:request_time_per_output_token_seconds_count", online));
        Assert.Equal(1, MetricsText.Value(after, "brim:e2e_request_latency_seconds_count", online));
        Assert.Equal(1, MetricsText.Value(after, "brim:time_to_first_token_seconds_bucket", online, "le=\"+Inf\""));
        Assert.Equal(2, MetricsText.Value(after, "brim:prompt_tokens_total", online));
        Assert.Equal(20, MetricsText.Value(after, "brim:generation_tokens_total", online));
        Assert.Equal(1, MetricsText.Value(after, "brim:request_success_total", online, "finished_reason=\"length\""));
        Assert.True(MetricsText.Value(after, "brim:e2e_request_latency_seconds_sum", online) > 0);
        Assert.Equal(0, MetricsText.Sum(after, "brim:generation_tokens_total", MetricsText.Offline)); // an online request
        Assert.True(MetricsText.Value(after, "brim:num_engine_steps_total") >= 20);
    }

    private static async Task<OwnedServer> StartAsync(EngineOptions engine)
    {
        var host = ModelHost.Load(new ModelHostOptions { Device = DeviceKind.Cpu, CpuThreads = 2, Engine = engine });
        var server = BrimServer.Create(host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning, DrainTimeout = TimeSpan.FromSeconds(20) });
        await server.StartAsync();
        return new OwnedServer(host, server);
    }

    private sealed record OwnedServer(ModelHost Host, BrimServer Server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Host.Dispose();
        }
    }
}
