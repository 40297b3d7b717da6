using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Brim.Server.Tests.Security;

/// <summary>
/// A lone surrogate escape (<c>"\ud800"</c>) in any string of a request is the client's error, a 400 naming the field:
/// a 500 would make the official SDKs retry it.
/// </summary>
public class UnpairedSurrogateTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Chat = "v1/chat/completions";
    private const string Completions = "v1/completions";
    private const string Lone = "\\ud800";
    private const string User = """{"role":"user","content":"Hi"}""";

    public static TheoryData<string, string, string> Cases() => new()
    {
        { Completions, $$"""{"prompt":"a{{Lone}}b","max_tokens":2}""", "prompt" },
        { Completions, $$"""{"prompt":["ok","{{Lone}}"],"max_tokens":2}""", "prompt[1]" },
        { Completions, $$"""{"prompt":"a","model":"{{Lone}}"}""", "model" },
        { Completions, $$"""{"prompt":"a","stop":"{{Lone}}"}""", "stop" },
        { Completions, $$"""{"prompt":"a","stop":["x","{{Lone}}"]}""", "stop[1]" },
        { Completions, $$"""{"prompt":"a","user":"{{Lone}}"}""", "user" },
        { Completions, """{"prompt":"\udc00 low alone"}""", "prompt" },
        { Completions, """{"prompt":"\ud800\u0041 high then a letter"}""", "prompt" },
        { Chat, $$"""{"messages":[{"role":"user","content":"{{Lone}}"}]}""", "messages[0].content" },
        { Chat, $$"""{"messages":[{{User}},{"role":"{{Lone}}","content":"x"}]}""", "messages[1].role" },
        { Chat, $$"""{"messages":[{"role":"user","content":[{"type":"text","text":"{{Lone}}"}]}]}""", "messages[0].content[0].text" },
        { Chat, $$"""{"messages":[{"role":"user","name":"{{Lone}}","content":"x"}]}""", "messages[0].name" },
        { Chat, $$"""{"messages":[{{User}}],"service_tier":"{{Lone}}"}""", "service_tier" },
        { Chat, $$"""{"messages":[{{User}}],"some_future_field":{"deep":["{{Lone}}"]} }""", "some_future_field.deep[0]" },
        { Chat, $$"""{"messages":[{{User}}],"metadata":{"{{Lone}}":"x"} }""", "metadata" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task StringField_UnpairedSurrogate_Gets400NamingTheField(string path, string body, string field)
    {
        var (status, error) = await PostAsync(path, body);

        Assert.Equal(400, status);
        Assert.Equal("invalid_request_error", (string?)error!["error"]!["type"]);
        Assert.Equal("invalid_unicode", (string?)error["error"]!["code"]);
        Assert.Equal(field, (string?)error["error"]!["param"]);
        Assert.Contains(field, (string)error["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prompt_EscapedSurrogatePair_Answered()
    {
        // A pair written as two escapes is one valid character (an emoji): the check must not refuse it.
        var (status, _) = await PostAsync(Completions, """{"prompt":"a \ud83d\ude00 b","max_tokens":2,"stop":["\ud83d\ude00"]}""");

        Assert.Equal(200, status);
    }

    private async Task<(int Status, JsonNode? Body)> PostAsync(string path, string json)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await fixture.Http.PostAsync(path, content);
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
    }
}
