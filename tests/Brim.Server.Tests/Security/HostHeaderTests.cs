using System.Text.Json.Nodes;
using Brim.Server.Security;
using Brim.Server.Tests.Batches;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Tests.Security;

/// <summary>
/// A server bound to loopback answers only loopback host names (DNS rebinding sends the attacker's name) and refuses
/// browsers' cross-origin requests (a page elsewhere posting a file); the allowed hosts setting overrides that.
/// </summary>
public class HostHeaderTests(BatchServerFixture fixture) : IClassFixture<BatchServerFixture>
{
    [Theory]
    [InlineData("localhost")]
    [InlineData("localhost:1234")]
    [InlineData("LOCALHOST:8000")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:9")]
    [InlineData("[::1]")]
    [InlineData("[::1]:8000")]
    public async Task LoopbackBind_LoopbackHost_Answered(string host)
    {
        var (status, _) = await GetAsync(fixture.BaseAddress, "v1/models", host, ServerFixture.ApiKey);
        Assert.Equal(200, status);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:8000")]
    [InlineData("localhost.evil.example")]
    [InlineData("127.0.0.1.nip.io")]
    [InlineData("10.0.0.1")]
    public async Task LoopbackBind_OtherHost_Gets400NamingTheHost(string host)
    {
        foreach (var path in new[] { "v1/models", "health" })
        {
            var (status, body) = await GetAsync(fixture.BaseAddress, path, host, ServerFixture.ApiKey);
            Assert.Equal(400, status);
            Assert.Equal("invalid_host", (string?)body!["error"]!["code"]);
            Assert.Equal("invalid_request_error", (string?)body["error"]!["type"]);
            Assert.Contains(new HostString(host).Host, (string)body["error"]!["message"]!, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("https://localhost.evil.example")]
    [InlineData("null")]
    public async Task LoopbackBind_CrossOriginUpload_Gets403(string origin)
    {
        var (status, body) = await UploadAsync(origin);

        Assert.Equal(403, status);
        Assert.Equal("cross_origin_refused", (string?)body!["error"]!["code"]);
        Assert.Equal("permission_error", (string?)body["error"]!["type"]);
    }

    [Theory]
    [InlineData("http://localhost:8000")]
    [InlineData("http://127.0.0.1:3000")]
    [InlineData(null)]
    public async Task LoopbackBind_SameHostOriginOrNone_UploadAnswered(string? origin)
    {
        var (status, _) = await UploadAsync(origin);

        Assert.Equal(200, status);
    }

    [Fact]
    public async Task AllowedHostsSet_OnlyThoseNamesAnswered()
    {
        await using var server = await StartAsync(["brim.internal", "::1"]);

        Assert.Equal(200, (await GetAsync(server.BaseAddress, "health", "brim.internal:8000", null)).Status);
        Assert.Equal(200, (await GetAsync(server.BaseAddress, "health", "[::1]:8000", null)).Status);
        Assert.Equal(400, (await GetAsync(server.BaseAddress, "health", "localhost", null)).Status);
        Assert.Equal(400, (await GetAsync(server.BaseAddress, "health", "evil.example", null)).Status);
    }

    [Fact]
    public async Task AllowedHostsStar_AnyHostAnswered()
    {
        await using var server = await StartAsync(["*"]);

        Assert.Equal(200, (await GetAsync(server.BaseAddress, "health", "evil.example", null)).Status);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.168.1.20")]
    public void NonLoopbackBind_Default_AnswersAnyHost(string bind)
    {
        var hosts = AllowedHosts.For(new ServerOptions { Host = bind });

        Assert.Null(hosts.Names);
        Assert.True(hosts.Allows(new HostString("brim.example.com")));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    [InlineData("::1")]
    [InlineData("127.0.0.2")]
    public void LoopbackBind_Default_AnswersOnlyLoopbackNames(string bind)
    {
        var hosts = AllowedHosts.For(new ServerOptions { Host = bind });

        Assert.Equal(["127.0.0.1", "[::1]", "localhost"], hosts.Names!.Order(StringComparer.Ordinal));
        Assert.False(hosts.Allows(new HostString("attacker.example")));
    }

    /// <summary>A multipart upload as a browser form would send it, with the browser's Origin header.</summary>
    private async Task<(int Status, JsonNode? Body)> UploadAsync(string? origin)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent("{}\n"u8.ToArray()), "file", "in.jsonl" },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/files") { Content = form };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        using var response = await fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null);
    }

    private static Task<OwnedServer> StartAsync(IReadOnlyList<string> allowedHosts) => OwnedServer.StartAsync(new ServerOptions { AllowedHosts = allowedHosts });

    private static async Task<(int Status, JsonNode? Body)> GetAsync(Uri baseAddress, string path, string host, string? key)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        if (key is not null)
        {
            request.Headers.Authorization = new("Bearer", key);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, (int)response.StatusCode == 400 ? JsonNode.Parse(text) : null);
    }
}
