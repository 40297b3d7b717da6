using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Brim.Server.Tests.Batches;

namespace Brim.Server.Tests.Security;

/// <summary>A malformed or oversized multipart upload is the client's 400 in the OpenAI envelope, never a 500, and echoes nothing unbounded.</summary>
public class MultipartUploadTests(BatchServerFixture fixture) : IClassFixture<BatchServerFixture>
{
    private const string Boundary = "brim-test-boundary";
    private const string Purpose = "Content-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n";
    private const string FileHeader = "Content-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n";
    private const string Line = "{\"custom_id\":\"a\"}\n";

    public static TheoryData<string, string, string?> Malformed()
    {
        var b = $"--{Boundary}\r\n";
        var end = $"\r\n--{Boundary}--\r\n";
        return new()
        {
            { "no closing boundary", b + Purpose + b + FileHeader + Line, null },
            { "no boundary at all", "just some text, no parts", null },
            { "part header line too long", b + "X-Long: " + new string('h', 20_000) + "\r\n" + FileHeader + Line + end, null },
            { "too many part headers", b + string.Concat(Enumerable.Range(0, 20).Select(i => $"X-H{i}: v\r\n")) + FileHeader + Line + end, null },
            { "part header without a colon", b + "this is not a header\r\n" + FileHeader + Line + end, null },
            { "truncated inside the part headers", b + "Content-Disposition: form-da", null },
            { "file name too long", b + Purpose + b + FileHeader.Replace("in.jsonl", new string('n', 300), StringComparison.Ordinal) + Line + end, "file" },
            { "purpose too long", b + "Content-Disposition: form-data; name=\"purpose\"\r\n\r\n" + new string('p', 100_000) + "\r\n" + b + FileHeader + Line + end, "purpose" },
            { "purpose not batch", b + "Content-Disposition: form-data; name=\"purpose\"\r\n\r\n" + new string('q', 200) + "\r\n" + b + FileHeader + Line + end, "purpose" },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Upload_MalformedMultipart_Gets400Envelope(string name, string body, string? param)
    {
        var (status, error, length) = await UploadAsync(Encoding.UTF8.GetBytes(body), $"multipart/form-data; boundary={Boundary}");

        Assert.True(status == 400, $"{name}: {status} {error}");
        Assert.Equal("invalid_request_error", (string?)error["error"]!["type"]);
        Assert.Equal(param, (string?)error["error"]!["param"]);
        Assert.True(length < 1024, $"{name}: the error is {length} bytes: {error}");
        using var list = await fixture.Http.GetAsync("v1/files");
        Assert.Equal(200, (int)list.StatusCode);
    }

    [Fact]
    public async Task Upload_BoundaryLongerThan70_Gets400()
    {
        var boundary = new string('b', 71);
        var body = $"--{boundary}\r\n{FileHeader}{Line}\r\n--{boundary}--\r\n";

        var (status, _, _) = await UploadAsync(Encoding.UTF8.GetBytes(body), $"multipart/form-data; boundary={boundary}");

        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Upload_PurposeNotUtf8_Gets400NamingPurpose()
    {
        byte[] body = [.. Encoding.UTF8.GetBytes($"--{Boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes($"\r\n--{Boundary}\r\n{FileHeader}{Line}\r\n--{Boundary}--\r\n")];

        var (status, error, _) = await UploadAsync(body, $"multipart/form-data; boundary={Boundary}");

        Assert.Equal(400, status);
        Assert.Equal("purpose", (string?)error["error"]!["param"]);
    }

    private async Task<(int Status, JsonNode Error, int Length)> UploadAsync(byte[] body, string contentType)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await fixture.Http.PostAsync("v1/files", content);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text)!, text.Length);
    }
}
