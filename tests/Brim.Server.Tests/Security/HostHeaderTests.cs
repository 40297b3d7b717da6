using System.Text.Json.Nodes;
using Brim.Server.Security;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Tests.Security;

/// <summary>
/// A server bound to loopback answers only loopback host names (DNS rebinding sends the attacker's name); the allowed
/// hosts setting overrides that.
/// </summary>
public class HostHeaderTests(ServerFixture fixture) : IClassFixture<ServerFixture>
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
