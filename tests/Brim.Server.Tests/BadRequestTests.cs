using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Brim.Server.Tests;

/// <summary>
/// Every kind of bad request gets the right status and the OpenAI error envelope, and the server keeps answering
/// good requests afterwards.
/// </summary>
public class BadRequestTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Chat = "v1/chat/completions";
    private const string Completions = "v1/completions";
    private const string User = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";

    public enum Key
    {
        Valid,
        Missing,
        Wrong,
    }

    public sealed record Case(string Name, string Path, byte[]? Body, int Status, string? Param = null, string Method = "POST", Key Key = Key.Valid)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases()
    {
        static byte[] J(string json) => Encoding.UTF8.GetBytes(json);
        static byte[] ChatWith(string fields) => J("{" + User + "," + fields + "}");
        var longPrompt = string.Join(' ', Enumerable.Repeat("Once upon a time there was a cat.", 100));
        var hugeBody = J("{\"prompt\":\"" + new string('a', 10 * 1024 * 1024) + "\"}");
        var deep = J(new string('[', 200) + new string(']', 200));
        Case[] cases =
        [
            new("malformed JSON", Chat, J("{\"messages\": [{\"role\":"), 400),
            new("body is an array", Chat, J("[1,2,3]"), 400),
            new("empty body", Chat, [], 400),
            new("invalid UTF-8", Chat, [.. J("{\"messages\":[{\"role\":\"user\",\"content\":\""), 0xC3, 0x28, 0xFF, .. J("\"}]}")], 400),
            new("nesting too deep", Chat, deep, 400),
            new("temperature is a string", Chat, ChatWith("\"temperature\":\"hot\""), 400, "temperature"),
            new("temperature below 0", Chat, ChatWith("\"temperature\":-0.5"), 400, "temperature"),
            new("temperature above 2", Chat, ChatWith("\"temperature\":2.5"), 400, "temperature"),
            new("max_tokens 0", Chat, ChatWith("\"max_tokens\":0"), 400, "max_tokens"),
            new("max_tokens negative", Chat, ChatWith("\"max_tokens\":-5"), 400, "max_tokens"),
            new("max_tokens 1e30", Chat, ChatWith("\"max_tokens\":1e30"), 400, "max_tokens"),
            new("max_tokens beyond int64", Chat, ChatWith("\"max_tokens\":99999999999999999999999999"), 400, "max_tokens"),
            new("max_tokens fractional", Completions, J("{\"prompt\":\"a\",\"max_tokens\":2.5}"), 400, "max_tokens"),
            new("max_completion_tokens is a string", Chat, ChatWith("\"max_completion_tokens\":\"ten\""), 400, "max_completion_tokens"),
            new("max_tokens beyond the context", Chat, ChatWith("\"max_tokens\":100000"), 400, "max_tokens"),
            new("n 0", Chat, ChatWith("\"n\":0"), 400, "n"),
            new("n negative", Chat, ChatWith("\"n\":-1"), 400, "n"),
            new("n too large", Chat, ChatWith("\"n\":1000"), 400, "n"),
            new("top_p above 1", Chat, ChatWith("\"top_p\":1.5"), 400, "top_p"),
            new("top_p 0", Chat, ChatWith("\"top_p\":0"), 400, "top_p"),
            new("top_p negative", Completions, J("{\"prompt\":\"a\",\"top_p\":-0.1}"), 400, "top_p"),
            new("temperature 1e400", Chat, ChatWith("\"temperature\":1e400"), 400, "temperature"),
            new("top_k -2", Chat, ChatWith("\"top_k\":-2"), 400, "top_k"),
            new("min_p above 1", Chat, ChatWith("\"min_p\":1.5"), 400, "min_p"),
            new("frequency_penalty below -2", Completions, J("{\"prompt\":\"a\",\"frequency_penalty\":-2.5}"), 400, "frequency_penalty"),
            new("max_completion_tokens 0", Chat, ChatWith("\"max_completion_tokens\":0"), 400, "max_completion_tokens"),
            new("max_completion_tokens beyond the context", Chat, ChatWith("\"max_completion_tokens\":100000"), 400, "max_completion_tokens"),
            new("presence_penalty 3", Chat, ChatWith("\"presence_penalty\":3"), 400, "presence_penalty"),
            new("repetition_penalty 0", Chat, ChatWith("\"repetition_penalty\":0"), 400, "repetition_penalty"),
            new("seed is a string", Chat, ChatWith("\"seed\":\"abc\""), 400, "seed"),
            new("stream is a string", Chat, ChatWith("\"stream\":\"yes\""), 400, "stream"),
            new("stream_options without stream", Chat, ChatWith("\"stream_options\":{\"include_usage\":true}"), 400, "stream_options"),
            new("stop is a number", Chat, ChatWith("\"stop\":42"), 400, "stop"),
            new("too many stop strings", Chat, ChatWith("\"stop\":[" + string.Join(',', Enumerable.Range(0, 20).Select(i => $"\"s{i}\"")) + "]"), 400, "stop"),
            new("empty stop string", Chat, ChatWith("\"stop\":[\"\"]"), 400, "stop"),
            new("top_logprobs without logprobs", Chat, ChatWith("\"top_logprobs\":3"), 400, "top_logprobs"),
            new("top_logprobs too large", Chat, ChatWith("\"logprobs\":true,\"top_logprobs\":50"), 400, "top_logprobs"),
            new("unknown service_tier", Chat, ChatWith("\"service_tier\":\"gold\""), 400, "service_tier"),
            new("priority is a string", Chat, ChatWith("\"priority\":\"high\""), 400, "priority"),
            new("messages missing", Chat, J("{\"model\":\"stories260K\"}"), 400, "messages"),
            new("messages empty", Chat, J("{\"messages\":[]}"), 400, "messages"),
            new("messages is a string", Chat, J("{\"messages\":\"hi\"}"), 400, "messages"),
            new("message is a number", Chat, J("{\"messages\":[5]}"), 400, "messages[0]"),
            new("unknown role", Chat, J("{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}"), 400, "messages[0].role"),
            new("role missing", Chat, J("{\"messages\":[{\"content\":\"hi\"}]}"), 400, "messages[0].role"),
            new("user content missing", Chat, J("{\"messages\":[{\"role\":\"user\"}]}"), 400, "messages[0].content"),
            new("content is a number", Chat, J("{\"messages\":[{\"role\":\"user\",\"content\":7}]}"), 400, "messages[0].content"),
            new("image content part", Chat, J("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}"), 400, "messages[0].content[0].type"),
            new("messages too long for the context", Chat, J("{\"messages\":[{\"role\":\"user\",\"content\":\"" + longPrompt + "\"}]}"), 400, "messages"),
            new("prompt missing", Completions, J("{\"max_tokens\":3}"), 400, "prompt"),
            new("prompt is an object", Completions, J("{\"prompt\":{\"text\":\"a\"}}"), 400, "prompt"),
            new("prompt empty list", Completions, J("{\"prompt\":[]}"), 400, "prompt"),
            new("prompt mixes strings and ids", Completions, J("{\"prompt\":[\"a\",1]}"), 400, "prompt"),
            new("prompt token id outside the vocabulary", Completions, J("{\"prompt\":[1,9999]}"), 400, "prompt"),
            new("prompt token id negative", Completions, J("{\"prompt\":[[1,-3]]}"), 400, "prompt"),
            new("prompt too long for the context", Completions, J("{\"prompt\":\"" + longPrompt + "\"}"), 400, "prompt"),
            new("completions logprobs too large", Completions, J("{\"prompt\":\"a\",\"logprobs\":50}"), 400, "logprobs"),
            new("echo is a number", Completions, J("{\"prompt\":\"a\",\"echo\":1}"), 400, "echo"),
            new("10 MB prompt", Completions, hugeBody, 413),
            new("unknown model", Chat, J("{\"model\":\"gpt-4o\"," + User + "}"), 404, "model"),
            new("unknown route", "v1/embeddings", J("{}"), 404),
            new("GET on a POST route", Chat, null, 405, Method: "GET"),
            new("DELETE on models", "v1/models", null, 405, Method: "DELETE"),
            new("missing API key", Chat, J("{" + User + "}"), 401, Key: Key.Missing),
            new("wrong API key", Chat, J("{" + User + "}"), 401, Key: Key.Wrong),
        ];
        var data = new TheoryData<Case>();
        foreach (var c in cases)
        {
            data.Add(c);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_GetsStatusAndEnvelope_ServerStillAnswers(Case bad)
    {
        using var http = fixture.CreateHttpClient(bad.Key switch
        {
            Key.Valid => ServerFixture.ApiKey,
            Key.Wrong => "not-a-key",
            _ => null,
        });
        using var request = new HttpRequestMessage(new HttpMethod(bad.Method), bad.Path);
        if (bad.Body is not null)
        {
            request.Content = new ByteArrayContent(bad.Body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(bad.Status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonNode.Parse(text)!["error"]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]), text);
        Assert.False(string.IsNullOrWhiteSpace((string?)error["type"]), text);
        Assert.True(error.ContainsKey("param") && error.ContainsKey("code"), text);
        if (bad.Param is not null)
        {
            Assert.Equal(bad.Param, (string?)error["param"]);
        }

        await AssertStillServesAsync();
    }

    [Fact]
    public async Task PromptTooLong_MessageSaysHowLongAndWhatFits()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("Once upon a time there was a cat.", 100));
        var tokens = fixture.Host.Tokenizer.Encode(prompt).Length;
        var (status, body) = await HttpJson.PostAsync(fixture.Http, Completions, new { prompt });

        Assert.Equal(400, status);
        var message = (string)body!["error"]!["message"]!;
        Assert.Contains($"{tokens} tokens", message, StringComparison.Ordinal);
        Assert.Contains("511", message, StringComparison.Ordinal);
        Assert.Equal("context_length_exceeded", (string?)body["error"]!["code"]);
    }

    [Theory]
    [InlineData("temperature", 0.0)]
    [InlineData("temperature", 2.0)]
    [InlineData("top_p", 1e-6)]
    [InlineData("top_p", 1.0)]
    [InlineData("presence_penalty", -2.0)]
    [InlineData("frequency_penalty", 2.0)]
    [InlineData("min_p", 1.0)]
    [InlineData("top_k", -1.0)]
    public async Task Sampling_BoundaryValueInRange_Is200(string field, double value)
    {
        var body = new JsonObject { ["prompt"] = "Once", ["max_tokens"] = 2, [field] = value };
        var (status, response) = await HttpJson.PostAsync(fixture.Http, Completions, body);

        Assert.True(status == 200, response?.ToJsonString());
    }

    private async Task AssertStillServesAsync()
    {
        var (status, body) = await HttpJson.PostAsync(fixture.Http, Chat, new { messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 3 });
        Assert.Equal(200, status);
        Assert.Equal(3, (int)body!["usage"]!["completion_tokens"]!);
    }
}
