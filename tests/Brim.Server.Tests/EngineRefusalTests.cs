using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Brim.Engine;
using Brim.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Tests;

/// <summary>
/// What a client sees when the engine refuses its request: a full queue is a 429 with Retry-After (streams too,
/// before any event), never a 400; only a prompt the whole KV cache cannot hold is the client's fault (400).
/// </summary>
public class EngineRefusalTests
{
    [Fact]
    public async Task Streams_WaitingQueueFull_RefusedWith429AndRetryAfterNever400()
    {
        // One batch slot and one waiting place: of twelve simultaneous long streams, at most two are taken at a time.
        await using var server = await StartAsync(new EngineOptions { NumKvBlocks = 64, MaxRunningSequences = 1, MaxWaitingRequests = 1 });
        var body = JsonSerializer.Serialize(new { prompt = new[] { 1 }, max_tokens = 200, ignore_eos = true, temperature = 0, stream = true });
        var statuses = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var text = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode == 429)
            {
                Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
                Assert.Equal("engine_overloaded", (string?)JsonNode.Parse(text)!["error"]!["code"]);
            }
            else
            {
                Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
            }

            return (int)response.StatusCode;
        }));

        Assert.Contains(429, statuses);
        Assert.Contains(200, statuses);
        Assert.All(statuses, s => Assert.Contains(s, new[] { 200, 429 }));
    }

    [Fact]
    public async Task Completion_PromptLargerThanTheWholeKvCache_Returns400WithTheReason()
    {
        // Two blocks of 16 positions: a 40-token prompt fits the model's context (512) but never the cache.
        await using var server = await StartAsync(new EngineOptions { NumKvBlocks = 2 });
        var (status, body) = await HttpJson.PostAsync(server.Http, "v1/completions", new { prompt = Enumerable.Repeat(300, 40).Prepend(1).ToArray(), max_tokens = 4 });

        Assert.Equal(400, status);
        var error = body!["error"]!;
        Assert.Equal("engine_rejected", (string?)error["code"]);
        Assert.Contains("KV blocks", (string?)error["message"], StringComparison.Ordinal);
    }

    private static async Task<OwnedServer> StartAsync(EngineOptions engine)
    {
        var host = ModelHost.Load(new ModelHostOptions { Device = DeviceKind.Cpu, CpuThreads = 2, Engine = engine });
        var server = BrimServer.Create(host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning, DrainTimeout = TimeSpan.FromSeconds(10) });
        await server.StartAsync();
        return new OwnedServer(host, server, new HttpClient { BaseAddress = server.BaseAddress });
    }

    private sealed record OwnedServer(ModelHost Host, BrimServer Server, HttpClient Http) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Server.DisposeAsync();
            Host.Dispose();
        }
    }
}
