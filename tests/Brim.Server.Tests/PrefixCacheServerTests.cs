using System.Net.Http.Json;
using System.Text;
using OpenAI.Chat;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace Brim.Server.Tests;

/// <summary>
/// The prefix cache seen from outside: the official OpenAI .NET SDK against a real server (its own, so no other test
/// warms its cache). A repeated long prompt comes back with the same greedy text and reports cached prompt tokens in
/// <c>usage.prompt_tokens_details.cached_tokens</c>; /metrics counts the lookups and the hits.
/// </summary>
public class PrefixCacheServerTests : IAsyncLifetime
{
    private static readonly ChatMessage[] Conversation =
    [
        new SystemChatMessage("You tell short stories about a little girl named Lily, her dog Max and the big red ball they found in the park one sunny day."),
        new UserChatMessage("Once upon a time"),
    ];

    private readonly ServerFixture _server = new();

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    private ChatClient Chat => _server.CreateOpenAIClient().GetChatClient(ServerFixture.ModelName);

    [Fact]
    public async Task CompleteChat_SameLongPrefixTwice_SecondReportsCachedTokensAndSameText()
    {
        var options = new ChatCompletionOptions { Temperature = 0f, MaxOutputTokenCount = 30 };
        var first = (await Chat.CompleteChatAsync(Conversation, options)).Value;
        var second = (await Chat.CompleteChatAsync(Conversation, options)).Value;

        Assert.Equal(0, first.Usage.InputTokenDetails.CachedTokenCount);
        var cached = second.Usage.InputTokenDetails.CachedTokenCount;
        Assert.True(cached > 0, "the second request must find the first one's prompt blocks");
        Assert.True(cached < second.Usage.InputTokenCount, "at least the last prompt token is computed");
        Assert.Equal(0, cached % 16); // whole blocks only
        Assert.Equal(first.Content[0].Text, second.Content[0].Text);

        var metrics = await MetricsText.ScrapeAsync(_server.Http);
        var queries = MetricsText.Value(metrics, "brim:prefix_cache_queries_total");
        var hits = MetricsText.Value(metrics, "brim:prefix_cache_hits_total");
        Assert.Equal(2 * first.Usage.InputTokenCount, queries);
        Assert.Equal(cached, hits);
        Assert.True(MetricsText.Value(metrics, "brim:prefix_cache_blocks") >= cached / 16);
    }

    [Fact]
    public async Task CompleteChatStreaming_AfterTheSamePrompt_FinalUsageCarriesCachedTokens()
    {
        var options = new ChatCompletionOptions { Temperature = 0f, MaxOutputTokenCount = 20 };
        var whole = (await Chat.CompleteChatAsync(Conversation, options)).Value;

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in Chat.CompleteChatStreamingAsync(Conversation, options))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
        }

        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.NotNull(usage);
        Assert.True(usage.InputTokenDetails.CachedTokenCount > 0);
    }

    [Fact]
    public async Task ResetPrefixCache_WithKey_ForgetsCachedPrompts_WithoutKey_Is401()
    {
        var options = new ChatCompletionOptions { Temperature = 0f, MaxOutputTokenCount = 8 };
        await Chat.CompleteChatAsync(Conversation, options);

        using var anonymous = _server.CreateHttpClient(apiKey: null);
        using (var refused = await anonymous.PostAsync("reset_prefix_cache", null))
        {
            Assert.Equal(401, (int)refused.StatusCode);
        }

        using (var reset = await _server.Http.PostAsync("reset_prefix_cache", null))
        {
            Assert.Equal(200, (int)reset.StatusCode);
            var body = System.Text.Json.JsonDocument.Parse(await reset.Content.ReadAsStringAsync()).RootElement;
            Assert.True(body.GetProperty("forgotten_blocks").GetInt32() > 0);
        }

        var after = (await Chat.CompleteChatAsync(Conversation, options)).Value;
        Assert.Equal(0, after.Usage.InputTokenDetails.CachedTokenCount);
    }

    [Fact]
    public async Task Completions_CacheSalt_SharesOnlyWithTheSameSalt()
    {
        var prompt = "Once upon a time there was a little girl named Lily who loved her dog Max and the big red ball.";
        async Task<int> Cached(string? salt)
        {
            var body = new Dictionary<string, object?> { ["model"] = ServerFixture.ModelName, ["prompt"] = prompt, ["max_tokens"] = 4, ["temperature"] = 0 };
            if (salt is not null)
            {
                body["cache_salt"] = salt;
            }

            using var response = await _server.Http.PostAsJsonAsync("v1/completions", body);
            var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.True(response.IsSuccessStatusCode, json.ToString());
            return json.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();
        }

        Assert.Equal(0, await Cached("tenant-a"));
        Assert.Equal(0, await Cached("tenant-b")); // same prompt, other salt: nothing shared
        Assert.Equal(0, await Cached(null));
        Assert.True(await Cached("tenant-a") > 0);

        using var bad = await _server.Http.PostAsJsonAsync("v1/completions", new { model = ServerFixture.ModelName, prompt, cache_salt = "" });
        Assert.Equal(400, (int)bad.StatusCode);
        Assert.Contains("cache_salt", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
