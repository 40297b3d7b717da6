using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Api;

/// <summary>Writes the OpenAI error envelope.</summary>
public static class ErrorResponses
{
    /// <summary>
    /// The longest message an envelope carries. Messages quote client input through <see cref="ApiText.Truncate"/>;
    /// this is the backstop for any that does not, so an error never grows with the request.
    /// </summary>
    public const int MaxMessageLength = 4096;

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

        using (var json = new Utf8JsonWriter(response.BodyWriter, ResponseJson.Options))
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
        json.WriteString("message", Bounded(message));
        json.WriteString("type", type);
        WriteNullable(json, "param", param);
        WriteNullable(json, "code", code);
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
    }

    /// <summary>The message cut to <see cref="MaxMessageLength"/>, with any unpaired surrogate replaced (the JSON writer throws on one).</summary>
    private static string Bounded(string message)
    {
        if (message.Length > MaxMessageLength)
        {
            message = message[..MaxMessageLength] + "…";
        }

        return message.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 ? message : ReplaceLoneSurrogates(message);
    }

    private static string ReplaceLoneSurrogates(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
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
