using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Api;

/// <summary>
/// Bearer-key authentication of the /v1 routes when keys are configured. Health, readiness and metrics stay open
/// (probes and scrapers carry no keys), as in vLLM. Keys are compared in constant time.
/// </summary>
internal sealed class ApiKeyCheck(IReadOnlyList<string> keys)
{
    private readonly byte[][] _keys = [.. keys.Select(Encoding.UTF8.GetBytes)];

    public bool Enabled => _keys.Length > 0;

    /// <summary>Throws a 401 <see cref="ApiException"/> when the request needs a key and has no valid one.</summary>
    public void Check(HttpRequest request)
    {
        // /v1/stats feeds the dashboard, which (like /metrics) is read without credentials.
        if (!Enabled || !request.Path.StartsWithSegments("/v1", StringComparison.Ordinal)
            || request.Path.StartsWithSegments("/v1/stats", StringComparison.Ordinal))
        {
            return;
        }

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
