using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Brim.Server.Tests.Batches;

namespace Brim.Server.Tests.Security;

/// <summary>
/// JSON endpoints take only application/json: a web page can post text/plain (or a form) to localhost without a CORS
/// preflight, so accepting it would let any page start generations.
/// </summary>
public class JsonMediaTypeTests(BatchServerFixture fixture) : IClassFixture<BatchServerFixture>
{
    private const string ChatBody = """{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""";
    private const string CompletionBody = """{"prompt":"Once","max_tokens":2}""";

    public static TheoryData<string, string, string?> Refused() => new()
    {
        { "v1/chat/completions", ChatBody, "text/plain" },
        { "v1/chat/completions", ChatBody, "text/plain; charset=utf-8" },
        { "v1/chat/completions", ChatBody, "application/x-www-form-urlencoded" },
        { "v1/chat/completions", ChatBody, "multipart/form-data; boundary=x" },
        { "v1/chat/completions", ChatBody, null },
        { "v1/chat/completions", ChatBody, "application/json; charset=iso-8859-1" },
        { "v1/chat/completions", ChatBody, "application/jsonx" },
        { "v1/completions", CompletionBody, "text/plain" },
        { "v1/completions", CompletionBody, null },
        { "v1/batches", """{"input_file_id":"file-x","endpoint":"/v1/chat/completions","completion_window":"24h"}""", "text/plain" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task JsonEndpoint_NotApplicationJson_Gets415Envelope(string path, string body, string? contentType)
    {
        var (status, error) = await PostAsync(path, body, contentType);

        Assert.Equal(415, status);
        Assert.Equal("invalid_request_error", (string?)error!["error"]!["type"]);
        Assert.Equal("unsupported_media_type", (string?)error["error"]!["code"]);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("Application/JSON; charset=UTF-8")]
    public async Task Completions_ApplicationJson_Answered(string contentType)
    {
        var (status, _) = await PostAsync("v1/completions", CompletionBody, contentType);

        Assert.Equal(200, status);
    }

    private async Task<(int Status, JsonNode? Body)> PostAsync(string path, string body, string? contentType)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var response = await fixture.Http.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text));
    }
}
