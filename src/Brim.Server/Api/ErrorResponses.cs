using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Api;

/// <summary>Writes the OpenAI error envelope.</summary>
public static class ErrorResponses
{
    public static async Task WriteAsync(HttpContext context, ApiException error)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return; // a stream already sent its headers; the stream writer reports errors in-band
        }

        response.Clear();
        response.StatusCode = error.StatusCode;
        response.ContentType = "application/json";
        if (error.RetryAfterSeconds is { } retry)
        {
            response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
        }

        using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            WriteEnvelope(json, error.Message, error.Type, error.Param, error.Code);
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Writes <c>{"error":{...}}</c>; also used in-band on a stream that fails after its headers were sent.</summary>
    public static void WriteEnvelope(Utf8JsonWriter json, string message, string type, string? param, string? code)
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", message);
        json.WriteString("type", type);
        WriteNullable(json, "param", param);
        WriteNullable(json, "code", code);
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
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
}
