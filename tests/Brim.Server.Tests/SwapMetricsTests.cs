using System.Text.Json;
using Brim.Engine;

namespace Brim.Server.Tests;

/// <summary>
/// A server whose KV cache is far too small for its load, with a host swap space forced on for the CPU backend: 24
/// blocks of 16 positions hold 384, the concurrent requests below need about 900, and 256 swap blocks hold them all.
/// </summary>
public sealed class SwapServerFixture : ServerFixture
{
    public const int SwapBlocks = 256;

    /// <summary>Bytes of one CPU swap block of the bundled model: float32 K and V of 5 layers × 16 positions × 32 dims.</summary>
    private const long BytesPerBlock = 2L * 5 * 16 * 32 * sizeof(float);

    protected override EngineOptions EngineOptions => new()
    {
        NumKvBlocks = 24,
        BlockSize = 16,
        MaxBatchTokens = 128,
        MaxRunningSequences = 16,
        SwapSpaceBytes = SwapBlocks * BytesPerBlock,
    };
}

/// <summary>
/// The swap series on /metrics (preemptions by mode, blocks swapped each way, swapped requests, swap blocks in use) and
/// their totals on /v1/stats, through real HTTP under real preemption: the counters agree with each other at every
/// scrape, and every request completes, each with exactly the greedy text it produces without memory pressure.
/// </summary>
public class SwapMetricsTests(SwapServerFixture fixture) : IClassFixture<SwapServerFixture>
{
    private const string Swap = "mode=\"swap\"";
    private const string Recompute = "mode=\"recompute\"";
    private const string Out = "direction=\"out\"";
    private const string In = "direction=\"in\"";

    [Fact]
    public async Task Completions_CacheTooSmallForTheLoad_EveryTextMatchesItsUnpressuredRun()
    {
        var requests = Requests(16);
        var alone = new List<string>();
        foreach (var r in requests)
        {
            alone.Add((await CompleteAsync(r)).Text);
        }

        var together = await Task.WhenAll(requests.Select(CompleteAsync));

        Assert.Equal(alone, together.Select(c => c.Text));
    }

    [Fact]
    public async Task Metrics_CacheTooSmallForTheLoad_SwapCountersAgreeAndEveryRequestCompletes()
    {
        var requests = Requests(16);

        // Without pressure: one request at a time, each fits the cache alone.
        var before = await MetricsText.ScrapeAsync(fixture.Http);
        foreach (var r in requests)
        {
            await CompleteAsync(r);
        }

        var unpressured = await MetricsText.ScrapeAsync(fixture.Http);
        Assert.Equal(Value(before, "brim:num_preemptions_total"), Value(unpressured, "brim:num_preemptions_total"));

        // Under pressure: all at once, scraping while they run.
        var together = Task.WhenAll(requests.Select(CompleteAsync));
        while (!together.IsCompleted)
        {
            AssertConsistent(await MetricsText.ScrapeAsync(fixture.Http));
            await Task.Delay(5);
        }

        // ignore_eos: each request ran to its max_tokens, however often it was preempted.
        Assert.Equal(requests.Select(r => r.MaxTokens), (await together).Select(c => c.CompletionTokens));
        var after = await MetricsText.ScrapeAsync(fixture.Http);
        AssertConsistent(after);
        double Delta(string name, params string[] labels) => MetricsText.Sum(after, name, labels) - MetricsText.Sum(unpressured, name, labels);

        Assert.True(Delta("brim:num_preemptions_by_mode_total", Swap) > 0, "the small cache must force preemptions by swap");
        Assert.True(Delta("brim:kv_blocks_swapped_total", In) > 0, "swapped blocks must come back");

        // No request was cancelled, so every block that went out came back — copied, or found still in the prefix cache
        // (not counted as swapped in) — and the swap space is empty again.
        Assert.True(Value(after, "brim:kv_blocks_swapped_total", Out) >= Value(after, "brim:kv_blocks_swapped_total", In));
        Assert.Equal(0, Value(after, "brim:num_requests_swapped"));
        Assert.Equal(0, Value(after, "brim:swap_blocks_used"));
        Assert.Equal(SwapServerFixture.SwapBlocks, Value(after, "brim:swap_blocks_capacity"));

        // /v1/stats totals (summed from the engine's steps) tell the same story.
        using var stats = JsonDocument.Parse(await fixture.Http.GetStringAsync("v1/stats"));
        var totals = stats.RootElement.GetProperty("totals");
        Assert.Equal(Value(after, "brim:num_preemptions_by_mode_total", Swap), totals.GetProperty("swapPreemptions").GetInt64());
        Assert.Equal(Value(after, "brim:kv_blocks_swapped_total", Out), totals.GetProperty("swappedOutBlocks").GetInt64());
        Assert.Equal(Value(after, "brim:kv_blocks_swapped_total", In), totals.GetProperty("swappedInBlocks").GetInt64());
    }

    /// <summary>What must hold at any instant: the modes add up to all preemptions, no block comes back that did not go out, and the swap blocks in use fit the space.</summary>
    private static void AssertConsistent(Dictionary<string, double> m)
    {
        Assert.Equal(Value(m, "brim:num_preemptions_total"), Value(m, "brim:num_preemptions_by_mode_total", Swap) + Value(m, "brim:num_preemptions_by_mode_total", Recompute));
        Assert.True(Value(m, "brim:kv_blocks_swapped_total", Out) >= Value(m, "brim:kv_blocks_swapped_total", In), "blocks in exceed blocks out");
        Assert.InRange(Value(m, "brim:swap_blocks_used"), 0, Value(m, "brim:swap_blocks_capacity"));
        Assert.InRange(Value(m, "brim:num_requests_swapped"), 0, Value(m, "brim:num_requests_waiting"));
    }

    private static double Value(Dictionary<string, double> samples, string name, params string[] labels) => MetricsText.Value(samples, name, labels);

    private async Task<(string Text, int CompletionTokens)> CompleteAsync((object Body, int MaxTokens) request)
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions", request.Body);
        Assert.True(status == 200, body?.ToJsonString());
        return (body!["choices"]![0]!["text"]!.GetValue<string>(), body["usage"]!["completion_tokens"]!.GetValue<int>());
    }


    /// <summary>Greedy completions of varied prompt and output lengths; every third one offline (flex), so both classes are preempted.</summary>
    private static List<(object Body, int MaxTokens)> Requests(int count)
    {
        string[] openings = ["Once upon a time", "The cat", "Tom and Sue went to the park", "One day, a little bird", "Lily", "The big red ball was"];
        return Enumerable.Range(0, count)
            .Select(i => 8 + (i * 37 % 80))
            .Select((maxTokens, i) => ((object)new
            {
                model = ServerFixture.ModelName,
                prompt = openings[i % openings.Length] + new string('!', i % 5),
                max_tokens = maxTokens,
                temperature = 0,
                ignore_eos = true,
                service_tier = i % 3 == 0 ? "flex" : "auto",
            }, maxTokens))
            .ToList();
    }
}
