using System.Text.Json.Nodes;

namespace Brim.Server.Tests;

/// <summary>
/// OpenAI fields Brim does not implement are refused with 400 unsupported_parameter (never a silent 200), unknown fields
/// with 400 as OpenAI answers them, and metadata fields are accepted; the values that ask for nothing pass.
/// </summary>
public class RequestFieldPolicyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Chat = "v1/chat/completions";
    private const string Completions = "v1/completions";

    [Theory]
    [InlineData(Chat, "tools", "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":{}}}]")]
    [InlineData(Chat, "tool_choice", "\"auto\"")]
    [InlineData(Chat, "parallel_tool_calls", "false")]
    [InlineData(Chat, "functions", "[{\"name\":\"f\"}]")]
    [InlineData(Chat, "function_call", "\"auto\"")]
    [InlineData(Chat, "response_format", "{\"type\":\"json_object\"}")]
    [InlineData(Chat, "response_format", "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{}}}")]
    [InlineData(Chat, "audio", "{\"voice\":\"alloy\",\"format\":\"wav\"}")]
    [InlineData(Chat, "modalities", "[\"text\",\"audio\"]")]
    [InlineData(Chat, "prediction", "{\"type\":\"content\",\"content\":\"x\"}")]
    [InlineData(Chat, "reasoning_effort", "\"high\"")]
    [InlineData(Chat, "verbosity", "\"low\"")]
    [InlineData(Chat, "web_search_options", "{}")]
    [InlineData(Chat, "store", "true")]
    [InlineData(Completions, "best_of", "3")]
    [InlineData(Completions, "suffix", "\" the end\"")]
    public async Task Generate_UnsupportedField_Is400UnsupportedParameterNamingIt(string path, string field, string value)
    {
        var (status, body) = await PostAsync(path, field, value);

        Assert.Equal(400, status);
        var error = body!["error"]!;
        Assert.Equal("unsupported_parameter", (string?)error["code"]);
        Assert.Equal(field, (string?)error["param"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Contains(field, (string?)error["message"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Chat, "tools", "[]")]
    [InlineData(Chat, "tools", "null")]
    [InlineData(Chat, "tool_choice", "\"none\"")]
    [InlineData(Chat, "response_format", "{\"type\":\"text\"}")]
    [InlineData(Chat, "modalities", "[\"text\"]")]
    [InlineData(Chat, "store", "false")]
    [InlineData(Chat, "metadata", "{\"team\":\"search\"}")]
    [InlineData(Chat, "user", "\"alice\"")]
    [InlineData(Chat, "safety_identifier", "\"u-1\"")]
    [InlineData(Chat, "prompt_cache_key", "\"k\"")]
    [InlineData(Completions, "best_of", "1")]
    [InlineData(Completions, "suffix", "\"\"")]
    [InlineData(Completions, "user", "\"alice\"")]
    public async Task Generate_FieldValueThatAsksForNothing_Is200(string path, string field, string value)
    {
        var (status, body) = await PostAsync(path, field, value);

        Assert.True(status == 200, body?.ToJsonString());
    }

    [Theory]
    [InlineData(Chat, "temprature")]
    [InlineData(Chat, "some_future_field")]
    [InlineData(Chat, "prompt")]
    [InlineData(Chat, "echo")]
    [InlineData(Completions, "messages")]
    [InlineData(Completions, "top_logprobs")]
    public async Task Generate_UnknownField_Is400UnrecognizedNamingIt(string path, string field)
    {
        var (status, body) = await PostAsync(path, field, "1");

        Assert.Equal(400, status);
        Assert.Equal("unknown_parameter", (string?)body!["error"]!["code"]);
        Assert.Equal(field, (string?)body["error"]!["param"]);
        Assert.StartsWith("Unrecognized request argument supplied", (string?)body["error"]!["message"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user", "5")]
    [InlineData("metadata", "\"x\"")]
    public async Task Chat_IgnoredFieldOfWrongType_Is400NamingIt(string field, string value)
    {
        var (status, body) = await PostAsync(Chat, field, value);

        Assert.Equal(400, status);
        Assert.Equal(field, (string?)body!["error"]!["param"]);
    }

    [Fact]
    public async Task Chat_UnknownFieldInsideAMessage_IsIgnored()
    {
        // Clients send assistant messages back as they got them, with fields such as refusal and annotations.
        var (status, _) = await HttpJson.PostAsync(fixture.Http, Chat, new
        {
            messages = new object[]
            {
                new { role = "user", content = "Hi" },
                new { role = "assistant", content = "Hello", refusal = (string?)null, annotations = Array.Empty<object>() },
                new { role = "user", content = "More" },
            },
            max_tokens = 2,
        });
        Assert.Equal(200, status);
    }

    private async Task<(int Status, JsonNode? Body)> PostAsync(string path, string field, string value)
    {
        var body = path == Chat
            ? new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }), ["max_tokens"] = 2 }
            : new JsonObject { ["prompt"] = "Once", ["max_tokens"] = 2 };
        body[field] = JsonNode.Parse(value);
        return await HttpJson.PostAsync(fixture.Http, path, body);
    }
}
