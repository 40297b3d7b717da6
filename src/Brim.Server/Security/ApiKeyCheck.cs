using System.Security.Cryptography;
using System.Text;
using Brim.Server.Api;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Security;

/// <summary>
/// Bearer-key authentication, decided per endpoint rather than per path prefix: routing matches paths
/// case-insensitively and decodes them, so a prefix test on the raw path (<c>/V1/files</c>, <c>/v1/%66iles</c>) let
/// requests past the check that routing then served.
/// </summary>
/// <remarks>
/// The policy, when keys are configured: every endpoint needs a key unless it was mapped with
/// <c>AllowAnonymous()</c> (so a new route is protected by default), and so does a request that matches no route (a
/// 404 tells nothing without a key). Public are the probes and the read-only aggregate views: /health, /ready,
/// /metrics, the dashboard (/ and /dashboard/{file}) and /v1/stats, which the dashboard polls and which carries the
/// same aggregate numbers as /metrics. vLLM's --api-key likewise leaves /health and /metrics open and protects /v1.
/// Keys are compared in constant time.
/// </remarks>
internal sealed class ApiKeyCheck(IReadOnlyList<string> keys)
{
    private readonly byte[][] _keys = [.. keys.Select(Encoding.UTF8.GetBytes)];

    public bool Enabled => _keys.Length > 0;

    /// <summary>Whether the endpoint routing chose for the request (null: none matched) needs a key.</summary>
    public bool Requires(Endpoint? endpoint) => Enabled && endpoint?.Metadata.GetMetadata<IAllowAnonymous>() is null;

    /// <summary>Middleware after routing: a 401 <see cref="ApiException"/> when the endpoint needs a key and the request has no valid one.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (Requires(context.GetEndpoint()))
        {
            Check(context.Request);
        }

        return next(context);
    }

    private void Check(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        const string scheme = "Bearer ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiException(401, "missing API key: send the header 'Authorization: Bearer <key>'", code: "invalid_api_key");
        }

        var given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        var match = false;
        foreach (var key in _keys)
        {
            match |= CryptographicOperations.FixedTimeEquals(given, key);
        }

        if (!match)
        {
            throw new ApiException(401, "invalid API key", code: "invalid_api_key");
        }
    }
}
