using System.Text;
using System.Text.Json.Nodes;

namespace Brim.Server.Tests;

/// <summary>
/// /v1/completions (the SDK keeps its legacy completions client internal, so these go over raw HTTP) and n &gt; 1,
/// checked against llama2.c's published greedy output of stories260K.
/// </summary>
public class CompletionsApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string Reference = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "stories260K_expected.txt"));

    [Fact]
    public async Task Completions_BosPromptGreedy_MatchesLlama2cReference()
    {
        // llama2.c's test: BOS as the prompt, 200 greedy tokens.
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
            new { model = ServerFixture.ModelName, prompt = new[] { 1 }, max_tokens = 200, temperature = 0 });

        Assert.Equal(200, status);
        Assert.Equal("text_completion", (string?)body!["object"]);
        Assert.StartsWith("cmpl-", (string?)body["id"], StringComparison.Ordinal);
        var choice = body["choices"]![0]!;
        Assert.Equal(Reference, (string?)choice["text"]);
        Assert.Equal("length", (string?)choice["finish_reason"]);
        Assert.Equal(1, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(200, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(201, (int)body["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task CompletionsStreaming_BosPromptGreedy_ChunksConcatenateToReferenceThenUsageThenDone()
    {
        var (events, done) = await HttpJson.StreamAsync(fixture.Http, "v1/completions",
            new { prompt = new[] { 1 }, max_tokens = 200, temperature = 0, stream = true, stream_options = new { include_usage = true } });

        Assert.True(done);
        var usage = events[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(200, (int)usage["usage"]!["completion_tokens"]!);
        var chunks = events[..^1];
        Assert.True(chunks.Count > 100, "one chunk per token or close to it");
        Assert.Equal(Reference, string.Concat(chunks.Select(e => (string?)e["choices"]![0]!["text"])));
        Assert.All(chunks, e => Assert.Equal("text_completion", (string?)e["object"]));
        Assert.Equal("length", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
        Assert.All(chunks[..^1], e => Assert.Null(e["choices"]![0]!["finish_reason"]));
        Assert.Single(chunks.Select(e => (string?)e["id"]).Distinct());
    }

    [Fact]
    public async Task Completions_TextPromptWithEcho_TextStartsWithPrompt()
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
            new { prompt = "Once upon a time", max_tokens = 10, temperature = 0, echo = true });

        Assert.Equal(200, status);
        var text = (string)body!["choices"]![0]!["text"]!;
        Assert.StartsWith("Once upon a time", text, StringComparison.Ordinal);
        Assert.True(text.Length > "Once upon a time".Length);
    }

    [Fact]
    public async Task Completions_ListOfPrompts_OneChoicePerPromptInOrder()
    {
        var prompts = new[] { "Once upon a time", "The cat", "Lily" };
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { prompt = prompts, max_tokens = 8, temperature = 0 });
        Assert.Equal(200, status);

        for (var i = 0; i < prompts.Length; i++)
        {
            var (_, alone) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { prompt = prompts[i], max_tokens = 8, temperature = 0 });
            Assert.Equal(i, (int)body!["choices"]![i]!["index"]!);
            Assert.Equal((string?)alone!["choices"]![0]!["text"], (string?)body["choices"]![i]!["text"]);
        }
    }

    [Fact]
    public async Task Completions_Logprobs_TokensMatchTextAndOffsetsAscend()
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions",
            new { prompt = new[] { 1 }, max_tokens = 10, temperature = 0, logprobs = 2 });

        Assert.Equal(200, status);
        var choice = body!["choices"]![0]!;
        var logprobs = choice["logprobs"]!;
        var tokens = logprobs["tokens"]!.AsArray().Select(t => (string)t!).ToList();
        Assert.Equal(10, tokens.Count);
        Assert.Equal(((string)choice["text"]!).Replace(" ", "", StringComparison.Ordinal), string.Concat(tokens).Replace(" ", "", StringComparison.Ordinal));
        Assert.All(logprobs["token_logprobs"]!.AsArray(), l => Assert.True((double)l! <= 0));
        Assert.All(logprobs["top_logprobs"]!.AsArray(), t => Assert.InRange(t!.AsObject().Count, 1, 2));
        var offsets = logprobs["text_offset"]!.AsArray().Select(o => (int)o!).ToList();
        Assert.Equal(offsets.Order(), offsets);
    }

    [Fact]
    public async Task ChatCompletions_NSeeded_DistinctChoicesReproducible()
    {
        object Request(bool stream) => new
        {
            messages = new[] { new { role = "user", content = "Tell me a story" } },
            n = 3, seed = 99, temperature = 1.0, max_tokens = 30, stream,
        };

        var (status, first) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions", Request(false));
        Assert.Equal(200, status);
        var texts = Texts(first!);
        Assert.Equal(3, texts.Count);
        Assert.Equal(3, texts.Distinct().Count());
        Assert.Equal(90, (int)first!["usage"]!["completion_tokens"]!);

        var (_, second) = await HttpJson.PostAsync(fixture.Http, "v1/chat/completions", Request(false));
        Assert.Equal(texts, Texts(second!));

        // The stream merges the three choices by index and carries the same texts.
        var (events, done) = await HttpJson.StreamAsync(fixture.Http, "v1/chat/completions", Request(true));
        Assert.True(done);
        var streamed = new StringBuilder[3];
        var finished = new string?[3];
        foreach (var e in events)
        {
            foreach (var c in e["choices"]!.AsArray())
            {
                var index = (int)c!["index"]!;
                (streamed[index] ??= new StringBuilder()).Append((string?)c["delta"]!["content"]);
                finished[index] ??= (string?)c["finish_reason"];
            }
        }

        Assert.Equal(texts, streamed.Select(s => s.ToString()));
        Assert.All(finished, f => Assert.Equal("length", f));
    }

    private static List<string> Texts(JsonNode response) =>
        response["choices"]!.AsArray().OrderBy(c => (int)c!["index"]!).Select(c => (string)c!["message"]!["content"]!).ToList();
}
