using System.Globalization;
using System.Text.Json;
using Brim.Server.Tests.Batches;

namespace Brim.Server.Tests;

/// <summary>A server of its own (with the Batch API), so the class-labelled counters move only by this class's requests.</summary>
public sealed class TrafficClassMetricsFixture : BatchServerFixture;

/// <summary>
/// The request-level Prometheus families carry a traffic_class label: online HTTP requests count as online, and
/// flex requests and Batch API lines as offline, each by exactly the usage its response reported.
/// </summary>
public class TrafficClassMetricsTests(TrafficClassMetricsFixture fixture) : IClassFixture<TrafficClassMetricsFixture>
{
    private const string Online = MetricsText.Online;
    private const string Offline = MetricsText.Offline;

    [Fact]
    public async Task Metrics_OnlineFlexAndBatchRequests_CountedByClassAsTheirUsageSays()
    {
        var before = await MetricsText.ScrapeAsync(fixture.Http);
        var online = new List<(int Prompt, int Completion)>();
        var offline = new List<(int Prompt, int Completion)>();

        // Online: a non-streaming chat request and a streamed completion with include_usage.
        var (status, chat) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions", new
        {
            model = ServerFixture.ModelName, messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = 12, temperature = 0,
        });
        Assert.Equal(200, status);
        online.Add(Usage(JsonSerializer.SerializeToElement(chat)));
        var (events, done) = await HttpJson.StreamAsync(fixture.Http, "v1/completions", new
        {
            prompt = "The cat", max_tokens = 9, ignore_eos = true, stream = true, stream_options = new { include_usage = true },
        });
        Assert.True(done);
        online.Add(Usage(JsonSerializer.SerializeToElement(events[^1])));

        // Offline: a flex request and a batch of three lines.
        var (flexStatus, flex) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new
        {
            prompt = "A dog", max_tokens = 7, ignore_eos = true, service_tier = "flex",
        });
        Assert.Equal(200, flexStatus);
        offline.Add(Usage(JsonSerializer.SerializeToElement(flex)));
        var client = fixture.CreateBatchClient();
        var lines = Enumerable.Range(0, 3).Select(i => BatchInput.CompletionLine($"m-{i}", $"Story number {i}", 5 + i));
        var created = await client.CreateAsync(await client.UploadAsync(BatchInput.Join(lines)), "/v1/completions");
        var batch = await client.WaitForStatusAsync(created.GetProperty("id").GetString()!, "completed", TimeSpan.FromSeconds(60));
        var output = await client.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!);
        Assert.Equal(3, output.Count);
        offline.AddRange(output.Select(l => Usage(l.GetProperty("response").GetProperty("body"))));

        var after = await MetricsText.ScrapeAsync(fixture.Http);
        double Delta(string name, params string[] labels) => MetricsText.Sum(after, name, labels) - MetricsText.Sum(before, name, labels);

        Assert.Equal(online.Sum(u => u.Prompt), Delta("brim:prompt_tokens_total", Online));
        Assert.Equal(online.Sum(u => u.Completion), Delta("brim:generation_tokens_total", Online));
        Assert.Equal(offline.Sum(u => u.Prompt), Delta("brim:prompt_tokens_total", Offline));
        Assert.Equal(offline.Sum(u => u.Completion), Delta("brim:generation_tokens_total", Offline));
        Assert.True(online.Sum(u => u.Completion) > 0 && offline.Sum(u => u.Completion) > 0);

        foreach (var (cls, requests) in new[] { (Online, online), (Offline, offline) })
        {
            Assert.Equal(requests.Count, Delta("brim:request_success_total", cls, "finished_reason=\"stop\"") + Delta("brim:request_success_total", cls, "finished_reason=\"length\""));
            Assert.Equal(0, Delta("brim:request_success_total", cls, "finished_reason=\"abort\""));
            Assert.Equal(0, Delta("brim:request_success_total", cls, "finished_reason=\"error\""));
            Assert.Equal(requests.Count, Delta("brim:time_to_first_token_seconds_count", cls));
            Assert.Equal(requests.Count, Delta("brim:e2e_request_latency_seconds_count", cls));
            Assert.Equal(requests.Count(u => u.Completion > 1), Delta("brim:request_time_per_output_token_seconds_count", cls));
            Assert.Equal(requests.Sum(u => u.Completion - 1), Delta("brim:inter_token_latency_seconds_count", cls));
            Assert.True(Delta("brim:request_time_per_output_token_seconds_sum", cls) > 0);
            foreach (var histogram in new[] { "brim:time_to_first_token_seconds", "brim:request_time_per_output_token_seconds", "brim:e2e_request_latency_seconds" })
            {
                AssertCumulative(after, histogram, cls);
            }
        }
    }

    private static (int Prompt, int Completion) Usage(JsonElement response)
    {
        var usage = response.GetProperty("usage");
        return (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
    }

    /// <summary>Buckets never decrease with the bound, and the +Inf bucket equals the count.</summary>
    private static void AssertCumulative(Dictionary<string, double> samples, string name, string cls)
    {
        var buckets = samples
            .Where(s => s.Key.StartsWith(name + "_bucket{", StringComparison.Ordinal) && s.Key.Contains(cls, StringComparison.Ordinal))
            .Select(s => (Bound: Bound(s.Key), Count: s.Value))
            .OrderBy(b => b.Bound)
            .ToList();
        Assert.True(buckets.Count > 2, name);
        Assert.True(buckets.Zip(buckets.Skip(1)).All(p => p.First.Count <= p.Second.Count), name);
        Assert.Equal(double.PositiveInfinity, buckets[^1].Bound);
        Assert.Equal(MetricsText.Value(samples, name + "_count", cls), buckets[^1].Count);
    }

    private static double Bound(string key)
    {
        var le = key[(key.IndexOf("le=\"", StringComparison.Ordinal) + 4)..];
        le = le[..le.IndexOf('"', StringComparison.Ordinal)];
        return le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
    }
}
