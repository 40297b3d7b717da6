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
            foreach (var model in server.Models)
            {
                WriteModel(json, model);
            }

            if (server.Router is { } router)
            {
                WriteRouter(json, server, router.Alias);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    public static async Task ModelAsync(HttpContext context, ServerContext server)
    {
        var id = context.Request.RouteValues["id"] as string;
        if (server.IsRouterAlias(id))
        {
            await WriteJsonAsync(context, json => WriteRouter(json, server, id!)).ConfigureAwait(false);
            return;
        }

        var model = id is null ? null : server.Find(id);
        if (model is null)
        {
            throw server.ModelNotFound(id);
        }

        await WriteJsonAsync(context, json => WriteModel(json, model)).ConfigureAwait(false);
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

    /// <summary>The router's alias as a model object, so clients that list models find it; its root says what it is.</summary>
    private static void WriteRouter(Utf8JsonWriter json, ServerContext server, string alias)
    {
        json.WriteStartObject();
        json.WriteString("id", alias);
        json.WriteString("object", "model");
        json.WriteNumber("created", server.StartedAt);
        json.WriteString("owned_by", "brim");
        json.WriteString("root", "router");
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
