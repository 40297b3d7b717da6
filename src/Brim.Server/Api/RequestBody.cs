using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Brim.Server.Api;

/// <summary>
/// Reads a JSON request body into a <see cref="JsonDocument"/>, refusing what is not UTF-8 JSON sent as
/// <c>application/json</c>, and strings that are not valid Unicode.
/// </summary>
internal static class RequestBody
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <summary>
    /// Reads the whole body, refusing one above <paramref name="limit"/> bytes with a 413. The rest of an oversized body
    /// is read and dropped before answering: an HTTP/1.1 client sends its whole body before it reads the response, so
    /// closing on it would leave the client with a broken pipe instead of the 413. Kestrel's own, larger limit
    /// (<see cref="DrainLimit"/>) still cuts off clients that send without end.
    /// </summary>
    public static async Task<JsonDocument> ReadJsonAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        RequireJsonMediaType(request.ContentType);
        var reader = request.BodyReader;
        if (request.ContentLength > limit)
        {
            await DrainAsync(reader, cancellationToken).ConfigureAwait(false);
            throw TooLarge(limit);
        }

        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.Length > limit)
            {
                reader.AdvanceTo(result.Buffer.End);
                await DrainAsync(reader, cancellationToken).ConfigureAwait(false);
                throw TooLarge(limit);
            }

            if (result.IsCompleted)
            {
                try
                {
                    return Parse(result.Buffer);
                }
                finally
                {
                    reader.AdvanceTo(result.Buffer.End);
                }
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End); // keep everything, ask for more
        }
    }

    /// <summary>
    /// A 415 unless the body is declared <c>application/json</c> (with no charset or UTF-8). Without this a web page
    /// could post JSON as text/plain, which browsers send cross-origin without asking (no CORS preflight).
    /// </summary>
    public static void RequireJsonMediaType(string? contentType)
    {
        if (MediaTypeHeaderValue.TryParse(contentType, out var type)
            && type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            && (!type.Charset.HasValue || type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || type.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        throw new ApiException(
            415, $"the request body must be sent as 'Content-Type: application/json', not '{ApiText.Truncate(contentType)}'", code: "unsupported_media_type");
    }

    /// <summary>The most Kestrel reads of one body (oversized ones included) before it closes the connection.</summary>
    public static long DrainLimit(long limit) => Math.Max(64L * 1024 * 1024, 4 * limit);

    public static ApiException TooLarge(long limit) =>
        new(413, $"the request body is larger than the limit of {limit} bytes", code: "request_too_large");

    private static async Task DrainAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    public static JsonDocument Parse(ReadOnlySequence<byte> body)
    {
        if (body.IsEmpty)
        {
            throw ApiException.BadRequest("the request body is empty; send a JSON object");
        }

        if (!IsValidUtf8(body))
        {
            throw ApiException.BadRequest("the request body is not valid UTF-8");
        }

        // JsonDocument keeps reading the memory it was parsed from for its whole life (a single-segment sequence is not
        // copied), and the caller hands the pipe's buffer back to Kestrel's pool right after this returns: another
        // request's bytes would then show through this document. So it parses its own copy.
        JsonDocument document;
        var bytes = body.ToArray();
        try
        {
            document = JsonDocument.Parse(bytes, Options);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message}");
        }

        try
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.BadRequest("the request body must be a JSON object");
            }

            JsonStringCheck.ThrowIfInvalid(bytes);
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    private static bool IsValidUtf8(ReadOnlySequence<byte> body)
    {
        if (body.IsSingleSegment)
        {
            return Utf8.IsValid(body.FirstSpan);
        }

        // Segments may split a character; validate a contiguous copy (bodies are bounded by the size limit).
        var rented = ArrayPool<byte>.Shared.Rent(checked((int)body.Length));
        try
        {
            body.CopyTo(rented);
            return Utf8.IsValid(rented.AsSpan(0, (int)body.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
