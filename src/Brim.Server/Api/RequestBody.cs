using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Api;

/// <summary>Reads a JSON request body into a <see cref="JsonDocument"/>, refusing what is not UTF-8 JSON.</summary>
internal static class RequestBody
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <summary>
    /// Reads the whole body. Kestrel enforces the size limit while it is read (its BadHttpRequestException carries
    /// the 413, mapped by the server's exception handler).
    /// </summary>
    public static async Task<JsonDocument> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
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

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, Options);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message}");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw ApiException.BadRequest("the request body must be a JSON object");
        }

        return document;
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
