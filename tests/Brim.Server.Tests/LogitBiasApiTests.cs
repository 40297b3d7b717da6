using System.Text.Json.Nodes;

namespace Brim.Server.Tests;

/// <summary>logit_bias through the real server, on completions and chat: -100 bans a token, +100 forces one.</summary>
public class LogitBiasApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly int[] Prompt = [1, 403, 261];

    [Fact]
    public async Task Completions_Minus100OnTheGreedyToken_GivesTheRunnerUp()
    {
        var (status, plain) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
            new { prompt = Prompt, max_tokens = 1, temperature = 0, logprobs = 2 });
        Assert.Equal(200, status);
        var top = plain!["choices"]![0]!["logprobs"]!["top_logprobs"]![0]!.AsObject().Select(p => p.Key).ToList();
        var (greedy, runnerUp) = (top[0], top[1]);
        Assert.Equal(greedy, (string?)plain["choices"]![0]!["text"]);

        // Every id that renders as the greedy token's text, so the runner-up is the next distinct text.
        var banned = Enumerable.Range(0, fixture.Host.Tokenizer.VocabSize)
            .Where(id => fixture.Host.Tokenizer.Decode([id], skipSpecialTokens: false) == greedy)
            .ToDictionary(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture), _ => -100);
        Assert.NotEmpty(banned);
        var (biasedStatus, biased) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
            new { prompt = Prompt, max_tokens = 1, temperature = 0, logit_bias = banned });

        Assert.Equal(200, biasedStatus);
        Assert.Equal(runnerUp, (string?)biased!["choices"]![0]!["text"]);
    }

    [Fact]
    public async Task Completions_Plus100OnAToken_ForcesItEveryStepEvenWhenSampling()
    {
        const int forced = 300;
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
            new { prompt = Prompt, max_tokens = 4, temperature = 1, seed = 7, logit_bias = new Dictionary<string, int> { ["300"] = 100 } });

        Assert.Equal(200, status);
        Assert.Equal(fixture.Host.Tokenizer.Decode([forced, forced, forced, forced]), (string?)body!["choices"]![0]!["text"]);
    }

    [Fact]
    public async Task ChatStreaming_Plus100OnAToken_ForcesIt()
    {
        const int forced = 300;
        var (events, done) = await HttpJson.StreamAsync(fixture.Http, "v1/chat/completions", new
        {
            messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 3,
            temperature = 0,
            stream = true,
            logit_bias = new Dictionary<string, double> { ["300"] = 100 },
        });

        Assert.True(done);
        var content = string.Concat(events.Select(e => (string?)e["choices"]![0]!["delta"]!["content"]));
        Assert.Equal(fixture.Host.Tokenizer.Decode([forced, forced, forced]), content);
    }

    [Theory]
    [InlineData("{\"abc\":5}")]
    [InlineData("{\"9999\":5}")]
    [InlineData("{\"-1\":5}")]
    [InlineData("{\"5\":100.5}")]
    [InlineData("{\"5\":\"high\"}")]
    [InlineData("[5]")]
    public async Task Completions_BadLogitBias_Is400NamingLogitBias(string bias)
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
            new { prompt = Prompt, max_tokens = 1, logit_bias = JsonNode.Parse(bias) });

        Assert.Equal(400, status);
        Assert.Equal("logit_bias", (string?)body!["error"]!["param"]);
    }

    [Fact]
    public async Task Chat_301BiasedTokens_Is400_300Pass()
    {
        object Body(int count) => new
        {
            messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 1,
            logit_bias = Enumerable.Range(0, count).ToDictionary(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture), _ => 1),
        };

        var (okStatus, _) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions", Body(300));
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions", Body(301));

        Assert.Equal(200, okStatus);
        Assert.Equal(400, status);
        Assert.Equal("logit_bias", (string?)body!["error"]!["param"]);
        Assert.Contains("300", (string?)body["error"]!["message"], StringComparison.Ordinal);
    }
}
