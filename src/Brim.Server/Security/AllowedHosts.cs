using System.Net;
using Brim.Server.Api;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Security;

/// <summary>
/// Which Host headers the server answers. A server bound to loopback answers only localhost, 127.0.0.1 and [::1] (any
/// port) unless <see cref="ServerOptions.AllowedHosts"/> says otherwise: a web page the user visits can make their
/// browser send requests to 127.0.0.1, and with DNS rebinding read the answers, but such requests carry the attacker's
/// host name. A server bound to another address answers any host by default (it is meant to be reached by names this
/// process cannot know). Requests without a Host header (HTTP/1.0) come from no browser and are answered.
/// Where the names are restricted, so is a browser's <c>Origin</c>: a page elsewhere can send a form-encoded or
/// multipart POST to 127.0.0.1 without a CORS preflight (a file upload, say) with the right Host; its Origin gives it
/// away. SDKs and curl send no Origin.
/// </summary>
internal sealed class AllowedHosts
{
    private static readonly string[] LoopbackNames = ["localhost", "127.0.0.1", "[::1]"];

    private readonly HashSet<string>? _names;

    private AllowedHosts(IEnumerable<string>? names)
    {
        _names = names is null || names.Contains("*") ? null : new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The names answered, or null when any host is.</summary>
    public IReadOnlyCollection<string>? Names => _names;

    public static AllowedHosts For(ServerOptions options) =>
        new(options.AllowedHosts?.Select(Normalize) ?? (IsLoopback(options.Host) ? LoopbackNames : null));

    public bool Allows(HostString host) => _names is null || !host.HasValue || _names.Contains(host.Host);

    /// <summary>Middleware before routing: a 400 <see cref="ApiException"/> for a Host header the server does not answer.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var host = context.Request.Host;
        if (!Allows(host))
        {
            throw ApiException.BadRequest(
                $"this server does not answer requests for the host '{ApiText.Truncate(host.Host)}' (it answers {string.Join(", ", _names!)}); " +
                "set the allowed hosts to reach it by another name",
                code: "invalid_host");
        }

        if (_names is not null && context.Request.Headers.Origin.ToString() is { Length: > 0 } origin && !AllowsOrigin(origin))
        {
            throw new ApiException(
                403, $"cross-origin requests from '{ApiText.Truncate(origin)}' are refused; this server answers pages of {string.Join(", ", _names)}",
                code: "cross_origin_refused");
        }

        return next(context);
    }

    /// <summary>Whether a browser's Origin (scheme://host[:port], or "null" for opaque origins) names an allowed host.</summary>
    private bool AllowsOrigin(string origin) =>
        _names is null || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && _names.Contains(uri.Host));

    private static bool IsLoopback(string bind) =>
        bind.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(bind, out var address) && IPAddress.IsLoopback(address));

    /// <summary>A name as HostString.Host gives it: no port, an IPv6 address in brackets.</summary>
    private static string Normalize(string name) =>
        IPAddress.TryParse(name, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !name.StartsWith('[')
            ? $"[{name}]"
            : name;
}
