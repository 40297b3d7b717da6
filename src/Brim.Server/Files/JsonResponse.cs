using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Files;

/// <summary>Writes a JSON response body straight into the response pipe.</summary>
internal static class JsonResponse
{
    public static async Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> write, int statusCode = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter, Api.ResponseJson.Options))
        {
            write(json);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A list page as OpenAI sends it: <c>{"object":"list","data":[...],"first_id","last_id","has_more"}</c>.</summary>
    public static void WriteList<T>(Utf8JsonWriter json, IReadOnlyList<T> items, bool hasMore, Func<T, string> idOf, Action<Utf8JsonWriter, T> write)
    {
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        foreach (var item in items)
        {
            write(json, item);
        }

        json.WriteEndArray();
        WriteNullable(json, "first_id", items.Count > 0 ? idOf(items[0]) : null);
        WriteNullable(json, "last_id", items.Count > 0 ? idOf(items[^1]) : null);
        json.WriteBoolean("has_more", hasMore);
        json.WriteEndObject();
    }

    public static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    public static void WriteNullable(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary>The <c>limit</c> query parameter of list endpoints: 1 to 100 (10000 for files), as OpenAI bounds it.</summary>
    public static int Limit(HttpRequest request, int fallback, int max)
    {
        var text = request.Query["limit"].ToString();
        if (text.Length == 0)
        {
            return fallback;
        }

        if (!int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var limit) || limit < 1 || limit > max)
        {
            throw Api.ApiException.BadRequest($"'limit' must be a whole number from 1 to {max}, got '{Api.ApiText.Truncate(text)}'", "limit");
        }

        return limit;
    }
}
