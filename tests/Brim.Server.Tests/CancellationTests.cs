using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Brim.Server.Tests;

/// <summary>A server of its own, so its metrics count only this class's requests.</summary>
public sealed class CancellationFixture : ServerFixture;

/// <summary>Clients that go away mid-stream cancel their requests and give their KV blocks back at once.</summary>
public sealed class CancellationTests(CancellationFixture fixture) : IClassFixture<CancellationFixture>, IDisposable
{
    private const int Tokens = 64;

    /// <summary>
    /// The streaming clients' HttpClient. It never drains an unread response: by default a disposed response's rest is
    /// read (up to 1 MB within 2 s) to keep the connection, and a quick server finished the "dropped" 500-token streams
    /// that way, as completed requests, where a user's closed connection is an abort.
    /// </summary>
    private HttpClient Clients => _clients ??= new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 })
    {
        BaseAddress = fixture.BaseAddress,
        Timeout = TimeSpan.FromSeconds(60),
        DefaultRequestHeaders = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServerFixture.ApiKey) },
    };

    private HttpClient? _clients;

    public void Dispose() => _clients?.Dispose();

    [Fact]
    public async Task SixtyFourStreams_HalfDroppedMidStream_RestCompleteAndKvReturnsToZero()
    {
        const int clients = 64;
        var (_, alone) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { prompt = new[] { 1 }, temperature = 0, ignore_eos = true, max_tokens = Tokens });
        var expected = (string)alone!["choices"]![0]!["text"]!;
        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(i => RunClientAsync(drop: i % 2 == 1)));

        var completed = results.Where(r => r is not null).ToList();
        Assert.Equal(clients / 2, completed.Count);
        Assert.All(completed, text => Assert.Equal(expected, text)); // batched with 63 others, the same as alone

        // The cancellations reach the engine between steps; the blocks are free as soon as it has drained its inbox.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (fixture.Host.Engine.UsedKvBlocks != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(0, fixture.Host.Engine.UsedKvBlocks);
        fixture.Host.Engine.CheckIntegrity();
        var metrics = await MetricsText.ScrapeAsync(fixture.Http);
        Assert.Equal(0, MetricsText.Value(metrics, "brim:kv_cache_usage_perc"));
        Assert.Equal(0, MetricsText.Value(metrics, "brim:num_requests_running"));
        Assert.Equal(0, MetricsText.Value(metrics, "brim:num_requests_waiting"));
        Assert.Equal(clients / 2 + 1, MetricsText.Value(metrics, "brim:request_success_total", MetricsText.Online, "finished_reason=\"length\""));
        Assert.Equal(clients / 2, MetricsText.Value(metrics, "brim:request_success_total", MetricsText.Online, "finished_reason=\"abort\""));
        // Aborted requests count the tokens they got before they were cancelled.
        Assert.InRange(MetricsText.Sum(metrics, "brim:generation_tokens_total"), (clients / 2 + 1) * Tokens, (clients / 2 + 1) * Tokens + clients / 2 * 500);
        Assert.Equal(clients + 1, MetricsText.Value(metrics, "brim:time_to_first_token_seconds_count", MetricsText.Online));
        Assert.Equal(clients + 1, MetricsText.Value(metrics, "brim:e2e_request_latency_seconds_count", MetricsText.Online));
        Assert.True(MetricsText.Sum(metrics, "brim:inter_token_latency_seconds_count") >= (clients / 2 + 1) * (Tokens - 1));
    }

    /// <summary>Streams BOS → 64 greedy tokens; a dropping client asks for more and hangs up after three chunks.</summary>
    private async Task<string?> RunClientAsync(bool drop)
    {
        var body = JsonSerializer.Serialize(new
        {
            prompt = new[] { 1 }, temperature = 0, ignore_eos = true, max_tokens = drop ? 500 : Tokens, stream = true,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await Clients.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if ((int)response.StatusCode != 200)
        {
            Assert.Fail($"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        var chunks = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }

            if (drop && ++chunks == 3)
            {
                return null; // disposing the response closes the connection mid-stream
            }

            text.Append((string?)JsonNode.Parse(line[6..])!["choices"]![0]!["text"]);
        }

        return text.ToString();
    }
}
