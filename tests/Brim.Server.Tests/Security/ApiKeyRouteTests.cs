using System.Net.Http.Headers;
using Brim.Server.Tests.Batches;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Brim.Server.Tests.Security;

/// <summary>
/// Every route the server maps, taken from its own route table (so a route added later cannot escape), asked with no
/// key, a wrong key and the right key, in spellings routing treats as the same path or that might slip past a
/// path-prefix check: case variants, doubled and trailing slashes, dot segments, percent-encoding.
/// </summary>
public class ApiKeyRouteTests(BatchServerFixture fixture) : IClassFixture<BatchServerFixture>
{
    /// <summary>The routes anyone may call. Adding one here is a decision: say why in Security/ApiKeyCheck.</summary>
    private static readonly string[] PublicRoutes = ["/", "/dashboard/{file}", "/health", "/metrics", "/ready", "/v1/stats"];

    private static readonly string[] Keys = [ServerFixture.ApiKey, "wrong-key", string.Empty];

    [Fact]
    public void RouteTable_PublicRoutes_AreExactlyTheDocumentedOnes()
    {
        var routes = Routes();

        Assert.Equal(PublicRoutes, routes.Where(r => r.Public).Select(r => r.Pattern).Distinct().Order(StringComparer.Ordinal));
        // The enumeration itself must see the API, or the tests below would pass over nothing.
        Assert.Contains(routes, r => r.Pattern == "/v1/files" && r.Method == "POST" && !r.Public);
        Assert.Contains(routes, r => r.Pattern == "/v1/chat/completions" && !r.Public);
        Assert.True(routes.Count(r => !r.Public) >= 13, string.Join(", ", routes));
    }

    [Fact]
    public async Task ProtectedRoute_AnySpellingWithoutTheRightKey_Gets401()
    {
        var failures = new List<string>();
        foreach (var route in Routes().Where(r => !r.Public))
        {
            foreach (var path in Spellings(Concrete(route.Pattern)))
            {
                foreach (var key in Keys)
                {
                    var status = await SendAsync(route.Method, path, key);
                    var expected401 = key != ServerFixture.ApiKey;
                    if (expected401 != (status == 401))
                    {
                        failures.Add($"{route.Method} {path} with key '{key}': {status}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task PublicRoute_AnyKeyOrNone_AnswersTheSame()
    {
        var failures = new List<string>();
        foreach (var route in Routes().Where(r => r.Public))
        {
            var concrete = Concrete(route.Pattern);
            foreach (var path in new[] { concrete, concrete.ToUpperInvariant() })
            {
                var statuses = new List<int>();
                foreach (var key in Keys)
                {
                    statuses.Add(await SendAsync(route.Method, path, key));
                }

                if (statuses.Contains(401) || statuses.Distinct().Count() != 1)
                {
                    failures.Add($"{route.Method} {path}: {string.Join(", ", statuses)}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task UnknownPath_WithoutKey_Gets401_WithKey_Gets404()
    {
        Assert.Equal(401, await SendAsync("GET", "/v1/embeddings", string.Empty));
        Assert.Equal(401, await SendAsync("GET", "/admin", "wrong-key"));
        Assert.Equal(404, await SendAsync("GET", "/v1/embeddings", ServerFixture.ApiKey));
    }

    [Fact]
    public async Task CapitalisedFilesPath_WithoutKey_Gets401()
    {
        // The bypass this suite was written for: routing is case-insensitive, the old prefix check was not.
        Assert.Equal(401, await SendAsync("GET", "/V1/files", string.Empty));
        Assert.Equal(200, await SendAsync("GET", "/V1/files", ServerFixture.ApiKey));
    }

    private sealed record Route(string Method, string Pattern, bool Public);

    private List<Route> Routes()
    {
        var source = fixture.Server.Services.GetRequiredService<EndpointDataSource>();
        var routes = new List<Route>();
        foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            var isPublic = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is not null;
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
            {
                routes.Add(new Route(method, pattern, isPublic));
            }
        }

        return routes;
    }

    /// <summary>The pattern with a value for each parameter.</summary>
    private static string Concrete(string pattern) => pattern.Replace("{id}", "file-abc", StringComparison.Ordinal).Replace("{file}", "x.js", StringComparison.Ordinal);

    /// <summary>Spellings of one path: those routing maps to it and those a naive check could read differently.</summary>
    private static IEnumerable<string> Spellings(string path)
    {
        yield return path;
        yield return path.ToUpperInvariant();
        yield return "/V" + path[2..]; // /V1/...
        yield return path + "/";
        yield return "/" + path; // //v1/...
        yield return path.Replace("/v1/", "/v1//", StringComparison.Ordinal);
        yield return path.Replace("/v1/", "/v1/./", StringComparison.Ordinal);
        yield return "/%76" + path[2..]; // %76 is 'v'
        yield return "/%56" + path[2..]; // %56 is 'V'
        yield return path.Replace("/v1/", "/v1%2F", StringComparison.Ordinal);
    }

    private async Task<int> SendAsync(string method, string path, string key)
    {
        using var http = new HttpClient();
        // Sent exactly as written: no client-side normalization of dots, slashes or escapes.
        var uri = new Uri($"http://127.0.0.1:{fixture.BaseAddress.Port}{path}", new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(new HttpMethod(method), uri);
        if (key.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await http.SendAsync(request);
        return (int)response.StatusCode;
    }
}
