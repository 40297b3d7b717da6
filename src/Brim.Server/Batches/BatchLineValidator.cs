using System.Text;
using System.Text.Json;
using Brim.Server.Api;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Batches;

/// <summary>
/// Checks the lines of a batch's input file: JSON, a unique <c>custom_id</c>, <c>method</c> POST, the batch's
/// <c>url</c>, and a body the online endpoint accepts. A bad line becomes an error-file line carrying its line number
/// and the reason; it never fails the batch, whatever it holds (an unexpected exception included: one line must never
/// stop the runner from validating every other batch).
/// </summary>
internal sealed class BatchLineValidator(ServerContext server, string endpoint, ILogger? logger = null)
{
    /// <summary>OpenAI's per-batch limit.</summary>
    public const int MaxLines = 50_000;

    private readonly Api.ApiKind _kind = BatchEndpointKind.Parse(endpoint) ?? throw new ArgumentException($"unsupported endpoint '{endpoint}'", nameof(endpoint));
    private readonly HashSet<string> _customIds = new(StringComparer.Ordinal);

    /// <summary>Validates one line as the reader gave it: its UTF-8 bytes, or why it has none.</summary>
    public ValidatedLine Validate(BatchInputLine input)
    {
        if (input.TooLongBytes > 0)
        {
            return Invalid(
                input.Number, null, $"the line is {input.TooLongBytes} bytes, longer than this server's limit of {server.Options.MaxRequestBodyBytes} bytes per request", "line_too_long");
        }

        return input.InvalidUtf8
            ? Invalid(input.Number, null, "the line is not valid UTF-8", "invalid_json")
            : Validate(input.Number, input.Text);
    }

    /// <summary>Validates one line (1-based <paramref name="line"/>) of UTF-8 JSON.</summary>
    public ValidatedLine Validate(int line, ReadOnlyMemory<byte> text)
    {
        string? customId = null;
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.BadRequest("the line must be a JSON object");
            }

            // The error of a line whose body holds a bad string still names the line's custom_id, when that one is fine.
            customId = root.TryGetProperty("custom_id", out var id) && id.ValueKind == JsonValueKind.String && IsReadable(id) ? id.GetString() : null;
            JsonStringCheck.ThrowIfInvalid(text.Span);

            customId = JsonFields.String(root, "custom_id");
            if (string.IsNullOrEmpty(customId))
            {
                throw ApiException.BadRequest("'custom_id' is required", "custom_id");
            }

            if (!_customIds.Add(customId))
            {
                var duplicate = customId;
                customId = null; // the error belongs to this line, not to the first line with that id
                throw ApiException.BadRequest($"'custom_id' '{ApiText.Truncate(duplicate)}' is used by an earlier line; custom_id must be unique within a batch", "custom_id", "duplicate_custom_id");
            }

            var method = JsonFields.String(root, "method");
            if (method != "POST")
            {
                throw ApiException.BadRequest($"'method' must be 'POST', got '{ApiText.Truncate(method)}'", "method");
            }

            var url = JsonFields.String(root, "url");
            if (url != endpoint)
            {
                throw ApiException.BadRequest($"'url' must be the batch's endpoint '{endpoint}', got '{ApiText.Truncate(url)}'", "url", "mismatched_url");
            }

            if (JsonFields.Get(root, "body") is not { } body)
            {
                throw ApiException.BadRequest("'body' is required", "body");
            }

            _ = BatchEndpointKind.ParseBody(body, _kind, server);
            return new ValidatedLine(line, customId, body.GetRawText(), null);
        }
        catch (JsonException e)
        {
            return Invalid(line, customId, $"the line is not valid JSON: {e.Message}", "invalid_json");
        }
        catch (ApiException e)
        {
            return Invalid(line, customId, e.Message, e.Code ?? "invalid_request");
        }
#pragma warning disable CA1031 // whatever a line holds, it is that line's error
        catch (Exception e)
#pragma warning restore CA1031
        {
            logger?.LogError(e, "validating batch line {Line} failed unexpectedly", line);
            return Invalid(line, null, "the line could not be validated; see the server log", "invalid_request");
        }
    }

    private static bool IsReadable(JsonElement text)
    {
        try
        {
            _ = text.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false; // an unpaired surrogate: JsonStringCheck reports it
        }
    }

    /// <summary>An error-file line for a line that never ran: no response, an error with the line number.</summary>
    public static ValidatedLine Invalid(int line, string? customId, string message, string code)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", BatchLineResult.NewRequestId());
            Files.JsonResponse.WriteNullable(json, "custom_id", customId);
            json.WriteNull("response");
            json.WriteStartObject("error");
            json.WriteString("code", code);
            json.WriteString("message", $"line {line}: {message}");
            json.WriteNumber("line", line);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return new ValidatedLine(line, customId, null, Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
