namespace Brim.Server.Tests;

/// <summary>A server whose per-request token bound is small enough to reach with the bundled model's 512-token context.</summary>
public class SmallRequestLimitsFixture : ServerFixture
{
    public const int MaxTokensPerRequest = 1000;

    protected override ServerOptions ServerOptions => base.ServerOptions with { MaxTokensPerRequest = MaxTokensPerRequest };
}

/// <summary>One request is bounded in sequences (prompts × n) and in output tokens (max_tokens × sequences).</summary>
public class RequestLimitsTests(SmallRequestLimitsFixture fixture) : IClassFixture<SmallRequestLimitsFixture>
{
    [Fact]
    public async Task Completions_64PromptsTimesN16_Is400NamingN()
    {
        // The probe that became 1,024 sequences and a 176 MB response.
        var prompts = Enumerable.Repeat("a", 64).ToArray();
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
            new { prompt = prompts, n = 16, logprobs = 20, echo = true, max_tokens = 1 });

        Assert.Equal(400, status);
        Assert.Equal("n", (string?)body!["error"]!["param"]);
        Assert.Equal("too_many_sequences", (string?)body["error"]!["code"]);
        Assert.Contains("1024", (string?)body["error"]!["message"], StringComparison.Ordinal);
        Assert.Contains("128", (string?)body["error"]!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completions_128Sequences_IsAllowed()
    {
        var prompts = Enumerable.Repeat("a", 8).ToArray();
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { prompt = prompts, n = 16, max_tokens = 1 });

        Assert.Equal(200, status);
        Assert.Equal(128, body!["choices"]!.AsArray().Count);
    }

    [Fact]
    public async Task Chat_MaxTokensTimesSequencesOverTheLimit_Is400NamingMaxTokens()
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions",
            new { messages = new[] { new { role = "user", content = "Hi" } }, n = 4, max_tokens = 251 });

        Assert.Equal(400, status);
        Assert.Equal("max_tokens", (string?)body!["error"]!["param"]);
        Assert.Equal("too_many_tokens", (string?)body["error"]!["code"]);
        Assert.Contains("1000", (string?)body["error"]!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_MaxTokensDefaulted_IsCutToFitTheLimit()
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions",
            new { messages = new[] { new { role = "user", content = "Hi" } }, n = 4, ignore_eos = true, temperature = 0 });

        Assert.Equal(200, status);
        Assert.Equal(SmallRequestLimitsFixture.MaxTokensPerRequest, (int)body!["usage"]!["completion_tokens"]!);
    }
}
