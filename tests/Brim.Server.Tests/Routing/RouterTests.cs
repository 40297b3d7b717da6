using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;

namespace Brim.Server.Tests.Routing;

/// <summary>model "auto": each rule sends its requests where it says, the cascade keeps confident answers and escalates the rest.</summary>
public class RouterTests(RoutedFixture fixture) : IClassFixture<RoutedFixture>
{
    private static readonly ChatMessage[] Conversation = [new UserChatMessage("Once upon a time")];

    private ChatClient Auto => fixture.CreateOpenAIClient().GetChatClient("auto");

    [Fact]
    public async Task Rule_LongPrompt_AnsweredByLarge_EvenBeyondTheSmallModelsContext()
    {
        var longPrompt = string.Join(' ', Enumerable.Repeat("The little dog ran to the park.", 12));
        var (route, body) = await PostAsync(new { model = "auto", messages = new[] { new { role = "user", content = longPrompt } }, max_tokens = 4 });
        Assert.Equal("long-prompts", route);
        Assert.Equal(TwoModelFixture.Large, (string?)body["model"]);

        // Counted, not held to the default (small) model's context: the rule is what sends it where it fits.
        var tooLongForSmall = string.Join(' ', Enumerable.Repeat("The little dog ran to the park.", 30));
        var (status, _) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions",
            new { model = TwoModelFixture.Small, messages = new[] { new { role = "user", content = tooLongForSmall } }, max_tokens = 4 });
        Assert.Equal(400, status);
        var (longRoute, longBody) = await PostAsync(new { model = "auto", messages = new[] { new { role = "user", content = tooLongForSmall } }, max_tokens = 4 });
        Assert.Equal("long-prompts", longRoute);
        Assert.Equal(TwoModelFixture.Large, (string?)longBody["model"]);
    }

    [Fact]
    public async Task Rule_MaxTokens_AnsweredByLarge()
    {
        var completion = (await Auto.CompleteChatAsync(Conversation, new ChatCompletionOptions { MaxOutputTokenCount = 300, Temperature = 0 })).Value;
        Assert.Equal(TwoModelFixture.Large, completion.Model);
    }

    [Fact]
    public async Task Rule_FlexTier_AnsweredBySmall_AndStreams()
    {
        var (events, done) = await HttpJson.StreamAsync(fixture.Http, "v1/chat/completions",
            new { model = "auto", messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = 8, service_tier = "flex", stream = true });
        Assert.True(done);
        Assert.All(events, e => Assert.Equal(TwoModelFixture.Small, (string?)e["model"]));
    }

    [Fact]
    public async Task Rule_Metadata_AnsweredByLarge_OtherValueIsNot()
    {
        var (route, body) = await PostAsync(new { model = "auto", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 4, metadata = new { tier = "gold" } });
        Assert.Equal("gold", route);
        Assert.Equal(TwoModelFixture.Large, (string?)body["model"]);

        var (other, _) = await PostAsync(new { model = "auto", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 4, metadata = new { tier = "silver" } });
        Assert.Equal("cascade", other);
    }

    [Fact]
    public async Task Rule_ReasoningEffort_RoutedThroughAuto_RefusedByName_WhenAModelIsNamed()
    {
        var (route, body) = await PostAsync(new { model = "auto", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 4, reasoning_effort = "high" });
        Assert.Equal("think", route);
        Assert.Equal(TwoModelFixture.Large, (string?)body["model"]);

        var (status, error) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions",
            new { model = TwoModelFixture.Large, messages = new[] { new { role = "user", content = "Hi" } }, reasoning_effort = "high" });
        Assert.Equal(400, status);
        Assert.Equal("reasoning_effort", (string?)error!["error"]!["param"]);

        var (badStatus, bad) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions",
            new { model = "auto", messages = new[] { new { role = "user", content = "Hi" } }, reasoning_effort = "extreme" });
        Assert.Equal(400, badStatus);
        Assert.Equal("reasoning_effort", (string?)bad!["error"]!["param"]);
    }

    [Fact]
    public async Task Cascade_ConfidentAnswer_KeptBySmall_SameTextAsSmallAlone()
    {
        var request = new { model = "auto", messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = 24, temperature = 0 };
        var (route, body, headers) = await PostWithHeadersAsync(request);
        var confidence = double.Parse(headers.GetValues("x-brim-confidence").Single(), CultureInfo.InvariantCulture);
        var direct = await MeanLogprobAsync(TwoModelFixture.Small, temperature: 0, seed: null);

        Assert.Equal("cascade", route);
        Assert.Equal(direct.Mean, confidence, 4);
        Assert.True(confidence >= RoutedFixture.Threshold, $"greedy stories260K should be confident here, got {confidence}");
        Assert.Equal("false", headers.GetValues("x-brim-escalated").Single());
        Assert.Equal(TwoModelFixture.Small, (string?)body["model"]);
        Assert.Equal(direct.Text, (string?)body["choices"]![0]!["message"]!["content"]);
        Assert.Null(body["choices"]![0]!["logprobs"]); // collected to judge, not asked for, not sent
    }

    [Fact]
    public async Task Cascade_LowConfidence_EscalatesToLarge_CountedInMetrics()
    {
        var before = await MetricsText.ScrapeAsync(fixture.Http);
        var request = new { model = "auto", messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = 24, temperature = 2.0, seed = 5 };
        var (route, body, headers) = await PostWithHeadersAsync(request);
        var after = await MetricsText.ScrapeAsync(fixture.Http);
        var confidence = double.Parse(headers.GetValues("x-brim-confidence").Single(), CultureInfo.InvariantCulture);
        var small = await MeanLogprobAsync(TwoModelFixture.Small, temperature: 2.0, seed: 5);
        var large = await MeanLogprobAsync(TwoModelFixture.Large, temperature: 2.0, seed: 5);

        Assert.Equal("cascade", route);
        Assert.Equal(small.Mean, confidence, 4);
        Assert.True(confidence < RoutedFixture.Threshold, $"sampling at temperature 2 should be unsure, got {confidence}");
        Assert.Equal("true", headers.GetValues("x-brim-escalated").Single());
        Assert.Equal(TwoModelFixture.Large, (string?)body["model"]);
        Assert.Equal(large.Text, (string?)body["choices"]![0]!["message"]!["content"]);

        Assert.Equal(1, after["brim:router_escalations_total"] - before["brim:router_escalations_total"]);
        Assert.Equal(1, Count(after, "cascade", TwoModelFixture.Large) - Count(before, "cascade", TwoModelFixture.Large));
    }

    [Fact]
    public async Task Cascade_Stream_SentOnceDecided_SameTextAndModelAsWhole()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 24 };
        var whole = (await Auto.CompleteChatAsync(Conversation, options)).Value;

        var text = new StringBuilder();
        var models = new HashSet<string>();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Auto.CompleteChatStreamingAsync(Conversation, options))
        {
            models.Add(update.Model);
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal([whole.Model], models);
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(whole.FinishReason, finish);
        Assert.Equal(whole.Usage.OutputTokenCount, usage!.OutputTokenCount);

        // An escalated answer streams the large model's.
        var (events, done) = await HttpJson.StreamAsync(fixture.Http, "v1/chat/completions",
            new { model = "auto", messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = 24, temperature = 2.0, seed = 5, stream = true });
        Assert.True(done);
        Assert.All(events, e => Assert.Equal(TwoModelFixture.Large, (string?)e["model"]));
    }

    [Fact]
    public async Task GetModels_ListsTheAliasAfterTheModels()
    {
        var models = (await fixture.CreateOpenAIClient().GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Equal([TwoModelFixture.Small, TwoModelFixture.Large, "auto"], models.Select(m => m.Id));
    }

    [Fact]
    public async Task Completions_ThroughAuto_RoutedToo()
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { model = "auto", prompt = "Once upon a time", max_tokens = 300 });
        Assert.Equal(200, status);
        Assert.Equal(TwoModelFixture.Large, (string?)body!["model"]);
    }

    private static double Count(Dictionary<string, double> samples, string route, string model) =>
        MetricsText.Sum(samples, "brim:router_requests_total", $"route=\"{route}\"", $"model=\"{model}\"");

    private async Task<(string Text, double Mean)> MeanLogprobAsync(string model, double temperature, int? seed)
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions", new
        {
            model, messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = 24, temperature, seed, logprobs = true,
        });
        Assert.Equal(200, status);
        var choice = body!["choices"]![0]!;
        var tokens = choice["logprobs"]!["content"]!.AsArray().Select(t => (double)t!["logprob"]!).ToList();
        return ((string)choice["message"]!["content"]!, tokens.Average());
    }

    private async Task<(string? Route, JsonNode Body)> PostAsync(object request)
    {
        var (route, body, _) = await PostWithHeadersAsync(request);
        return (route, body);
    }

    private async Task<(string? Route, JsonNode Body, System.Net.Http.Headers.HttpResponseHeaders Headers)> PostWithHeadersAsync(object request)
    {
        using var content = new StringContent(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync("v1/chat/completions", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return (response.Headers.TryGetValues("x-brim-route", out var r) ? r.Single() : null, JsonNode.Parse(text)!, response.Headers);
    }
}
