using System.Text.Json.Nodes;

namespace Brim.Server.Tests.Routing;

/// <summary>/v1/stats of a routed server of two models: each model's device time and cost per 1M tokens, all together, the router's counts.</summary>
public class ModelStatsTests(RoutedFixture fixture) : IClassFixture<RoutedFixture>
{
    [Fact]
    public async Task Stats_RowPerModelAndAll_PricedByEachEnginesDeviceTime()
    {
        var before = await RowsAsync();
        var answered = new Dictionary<string, long> { [TwoModelFixture.Small] = 0, [TwoModelFixture.Large] = 0 };
        foreach (var model in new[] { TwoModelFixture.Small, TwoModelFixture.Large, "auto" })
        {
            var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { model, prompt = "Once upon a time", max_tokens = 12, temperature = 0 });
            Assert.Equal(200, status);
            answered[(string)body!["model"]!] += (long)body["usage"]!["completion_tokens"]!;
        }

        // A step is recorded just after it delivered its tokens: wait until the rows have every token the answers reported
        // (an escalated answer's small run adds tokens no response reports, hence at least).
        JsonNode stats = null!;
        for (var wait = 0; wait < 50; wait++)
        {
            stats = JsonNode.Parse(await fixture.Http.GetStringAsync("v1/stats"))!;
            var now = Tokens(stats);
            if (answered.All(a => now[a.Key] - before[a.Key] >= a.Value))
            {
                break;
            }

            await Task.Delay(20);
        }

        var rows = stats["models"]!.AsArray().Select(r => r!).ToList();
        var after = Tokens(stats);
        Assert.All(answered, a => Assert.True(after[a.Key] - before[a.Key] >= a.Value, $"{a.Key}: {after[a.Key] - before[a.Key]} tokens counted, {a.Value} answered"));
        Assert.Equal([TwoModelFixture.Small, TwoModelFixture.Large, "all models"], rows.Select(r => (string)r["name"]!));
        foreach (var row in rows)
        {
            var tokens = (long)row["outputTokens"]!;
            var busy = (double)row["busySeconds"]!;
            Assert.True(busy > 0);
            Assert.Equal(busy / tokens * 1e6, (double)row["deviceSecondsPerMillionOutputTokens"]!, 6);
            Assert.Equal(busy / tokens * 1e6 * TwoModelFixture.HourlyCost / 3600, (double)row["costPerMillionOutputTokens"]!, 6);
        }

        Assert.Equal((long)rows[0]["outputTokens"]! + (long)rows[1]["outputTokens"]!, (long)rows[2]["outputTokens"]!);
        Assert.Equal((double)rows[0]["busySeconds"]! + (double)rows[1]["busySeconds"]!, (double)rows[2]["busySeconds"]!, 9);

        var router = stats["router"]!;
        Assert.Equal("auto", (string?)router["alias"]);
        Assert.True((long)router["cascaded"]! >= 1);
        Assert.Equal((double)(long)router["escalations"]! / (long)router["cascaded"]!, (double)router["escalatedShare"]!, 9);
        Assert.Contains(router["routes"]!.AsArray(), r => (string?)r!["route"] == "cascade");
    }

    private static Dictionary<string, long> Tokens(JsonNode stats) =>
        stats["models"]!.AsArray().ToDictionary(r => (string)r!["name"]!, r => (long)r!["outputTokens"]!);

    private async Task<Dictionary<string, long>> RowsAsync() => Tokens(JsonNode.Parse(await fixture.Http.GetStringAsync("v1/stats"))!);

    [Fact]
    public async Task Metrics_PerModelCostFamilies_MatchStats()
    {
        var (status, _) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { model = TwoModelFixture.Large, prompt = "Once", max_tokens = 4 });
        Assert.Equal(200, status);
        var samples = await MetricsText.ScrapeAsync(fixture.Http);
        foreach (var name in new[] { TwoModelFixture.Small, TwoModelFixture.Large, "all models" })
        {
            Assert.True(samples.ContainsKey($"brim:model_busy_seconds_total{{model_name=\"{name}\"}}"), name);
        }

        Assert.True(MetricsText.Value(samples, "brim:model_cost_per_million_output_tokens_dollars", "model_name=\"large\"") > 0);
        Assert.Equal(
            MetricsText.Value(samples, "brim:model_busy_seconds_total", "model_name=\"small\"") + MetricsText.Value(samples, "brim:model_busy_seconds_total", "model_name=\"large\""),
            MetricsText.Value(samples, "brim:model_busy_seconds_total", "model_name=\"all models\""), 9);
    }
}
