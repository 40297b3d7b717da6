using System.Text.Json;
using Brim.Engine;
using Brim.Engine.Speculative;

namespace Brim.Server.Tests;

/// <summary>A server that speculates with prompt lookup on every decode step (policy "always", so the counters move).</summary>
public sealed class SpeculativeServerFixture : ServerFixture
{
    protected override EngineOptions EngineOptions => new()
    {
        NumKvBlocks = 256,
        MaxRunningSequences = 16,
        Speculative = new SpeculativeConfig { PromptLookupMin = 1, Mode = SpeculationMode.Always },
    };
}

/// <summary>
/// Speculative decoding seen from outside: greedy text is the text the model writes without it, the spec_decode families
/// on /metrics agree with each other and with /v1/stats, and <c>speculative_decoding: false</c> opts a request out.
/// </summary>
public class SpeculativeServerTests(SpeculativeServerFixture fixture) : IClassFixture<SpeculativeServerFixture>
{
    [Fact]
    public async Task Completion_Greedy_SameTextAndCountersAgree()
    {
        var before = await MetricsText.ScrapeAsync(fixture.Http);
        var text = await CompleteAsync(new { model = ServerFixture.ModelName, prompt = "Once upon a time", max_tokens = 60, temperature = 0 });
        Assert.StartsWith(", there was a little girl named Lily. She loved to play outside", text, StringComparison.Ordinal);

        var m = await MetricsText.ScrapeAsync(fixture.Http);
        var drafted = Value(m, "brim:spec_decode_num_draft_tokens_total");
        var accepted = Value(m, "brim:spec_decode_num_accepted_tokens_total");
        Assert.True(drafted > Value(before, "brim:spec_decode_num_draft_tokens_total"), "the story repeats itself: drafts must be proposed");
        Assert.InRange(accepted, 1, drafted);
        Assert.Equal(accepted, MetricsText.Sum(m, "brim:spec_decode_num_accepted_tokens_per_pos_total"));
        Assert.True(Value(m, "brim:spec_decode_num_accepted_tokens_per_pos_total", "position=\"0\"") >= Value(m, "brim:spec_decode_num_accepted_tokens_per_pos_total", "position=\"1\""),
            "a token is accepted only after the ones before it");

        using var stats = JsonDocument.Parse(await fixture.Http.GetStringAsync("v1/stats"));
        var totals = stats.RootElement.GetProperty("totals");
        Assert.Equal(drafted, totals.GetProperty("draftTokens").GetInt64());
        Assert.Equal(accepted, totals.GetProperty("acceptedDraftTokens").GetInt64());
        var minute = stats.RootElement.GetProperty("windows").EnumerateArray().Single(w => w.GetProperty("name").GetString() == "1m");
        Assert.InRange(minute.GetProperty("specAcceptanceRate").GetDouble(), 0.0001, 1);
        Assert.True(minute.GetProperty("specMeanAcceptedLength").GetDouble() > 1);
    }

    [Fact]
    public async Task Completion_SpeculativeDecodingFalse_ProposesNothingForIt()
    {
        // Serialized with the other test by the class fixture: nothing else runs on this server meanwhile.
        var before = Value(await MetricsText.ScrapeAsync(fixture.Http), "brim:spec_decode_num_draft_tokens_total");
        var text = await CompleteAsync(new { model = ServerFixture.ModelName, prompt = "Once upon a time", max_tokens = 60, temperature = 0, speculative_decoding = false });
        Assert.StartsWith(", there was a little girl named Lily. She loved to play outside", text, StringComparison.Ordinal);
        Assert.Equal(before, Value(await MetricsText.ScrapeAsync(fixture.Http), "brim:spec_decode_num_draft_tokens_total"));
    }

    [Fact]
    public async Task Completion_SpeculativeDecodingNotABoolean_Is400NamingTheField()
    {
        var (status, body) = await HttpJson.PostAsync(
            fixture.Http, "v1/completions", new { model = ServerFixture.ModelName, prompt = "Once", max_tokens = 2, speculative_decoding = "no" });
        Assert.Equal(400, status);
        Assert.Contains("speculative_decoding", body!.ToJsonString(), StringComparison.Ordinal);
    }

    private static double Value(Dictionary<string, double> samples, string name, params string[] labels) => MetricsText.Value(samples, name, labels);

    private async Task<string> CompleteAsync(object request)
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions", request);
        Assert.True(status == 200, body?.ToJsonString());
        return body!["choices"]![0]!["text"]!.GetValue<string>();
    }
}
