using System.Text.Json;
using Brim.Server.Metrics;
using Brim.Telemetry.Exposition;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Api;

/// <summary>GET /v1/models, /v1/models/{id}, /health, /ready and /metrics.</summary>
internal static class InfoEndpoints
{
    public static async Task ModelsAsync(HttpContext context, ServerContext server)
    {
        await WriteJsonAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            WriteModel(json, server);
            json.WriteEndArray();
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    public static async Task ModelAsync(HttpContext context, ServerContext server)
    {
        var id = context.Request.RouteValues["id"] as string;
        if (id != server.ModelName)
        {
            throw new ApiException(404, $"the model '{ApiText.Truncate(id)}' does not exist; this server serves '{server.ModelName}'", "model", "model_not_found");
        }

        await WriteJsonAsync(context, json => WriteModel(json, server)).ConfigureAwait(false);
    }

    public static Task MetricsAsync(HttpContext context, MetricsExposition metrics)
    {
        context.Response.ContentType = PrometheusText.ContentType;
        return context.Response.WriteAsync(metrics.Write(), context.RequestAborted);
    }

    private static void WriteModel(Utf8JsonWriter json, ServerContext server)
    {
        json.WriteStartObject();
        json.WriteString("id", server.ModelName);
        json.WriteString("object", "model");
        json.WriteNumber("created", server.StartedAt);
        json.WriteString("owned_by", "brim");
        json.WriteString("root", server.Host.ModelAsGiven); // never the resolved path: it tells clients about the host's disk
        json.WriteNumber("max_model_len", server.Engine.MaxModelLength);
        json.WriteEndObject();
    }

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter, ResponseJson.Options))
        {
            write(json);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
