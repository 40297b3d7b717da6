using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Brim.Telemetry.Exposition;

/// <summary>
/// The HTTP surface: GET / (the dashboard), GET /dashboard/{file} (its script and style), GET /v1/stats (the JSON
/// snapshot the dashboard polls). /metrics stays the server's; it appends <see cref="TelemetryHub.AppendPrometheus"/>.
/// </summary>
public static class TelemetryEndpoints
{
    public const string PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Maps the dashboard and /v1/stats over the <see cref="TelemetryHub"/> registered by AddBrimTelemetry.</summary>
    public static IEndpointRouteBuilder MapBrimTelemetry(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var hub = endpoints.ServiceProvider.GetRequiredService<TelemetryHub>();
        endpoints.MapGet("/", () => Asset("index.html"));
        endpoints.MapGet("/dashboard/{file}", (string file) => Asset(file));
        endpoints.MapGet("/v1/stats", (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            return Results.Json(hub.Snapshot(), TelemetryJsonContext.Default.TelemetrySnapshot);
        });
        return endpoints;
    }

    /// <summary>Maps GET <paramref name="path"/> to the telemetry metrics alone (for hosts without their own /metrics).</summary>
    public static IEndpointRouteBuilder MapBrimTelemetryMetrics(this IEndpointRouteBuilder endpoints, string path = "/metrics")
    {
        var hub = endpoints.ServiceProvider.GetRequiredService<TelemetryHub>();
        endpoints.MapGet(path, () =>
        {
            var text = new StringBuilder(8192);
            hub.AppendPrometheus(text);
            return Results.Text(text.ToString(), PrometheusContentType);
        });
        return endpoints;
    }

    private static IResult Asset(string name) => DashboardAssets.TryGet(name, out var content, out var type)
        ? Results.Bytes(content, type)
        : Results.NotFound();
}
