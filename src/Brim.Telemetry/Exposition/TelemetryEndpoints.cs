using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Brim.Telemetry.Exposition;

/// <summary>
/// The HTTP surface: GET / (the dashboard), GET /dashboard/{file} (its script and style), GET /v1/stats (the JSON
/// snapshot the dashboard polls). /metrics stays the server's; the hub writes its families there as an <see cref="IPrometheusSource"/>.
/// </summary>
public static class TelemetryEndpoints
{
    /// <summary>Maps the dashboard and /v1/stats over the <see cref="TelemetryHub"/> registered by AddBrimTelemetry.</summary>
    /// <param name="complete">Adds what the hub cannot know to each /v1/stats snapshot (a server's other models, its router).</param>
    public static IEndpointRouteBuilder MapBrimTelemetry(this IEndpointRouteBuilder endpoints, Func<TelemetrySnapshot, TelemetrySnapshot>? complete = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var hub = endpoints.ServiceProvider.GetRequiredService<TelemetryHub>();
        endpoints.MapGet("/", () => Asset("index.html"));
        endpoints.MapGet("/dashboard/{file}", (string file) => Asset(file));
        endpoints.MapGet("/v1/stats", (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            var snapshot = hub.Snapshot();
            return Results.Json(complete is null ? snapshot : complete(snapshot), TelemetryJsonContext.Default.TelemetrySnapshot);
        });
        return endpoints;
    }

    private static IResult Asset(string name) => DashboardAssets.TryGet(name, out var content, out var type)
        ? Results.Bytes(content, type)
        : Results.NotFound();
}
