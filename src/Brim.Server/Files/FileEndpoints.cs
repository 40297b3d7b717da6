using System.Text;
using Brim.Server.Api;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Brim.Server.Files;

/// <summary>
/// The OpenAI Files API: POST /v1/files (multipart: <c>purpose</c> and <c>file</c>), GET /v1/files, GET and DELETE
/// /v1/files/{id}, GET /v1/files/{id}/content. Uploads stream to disk and are refused with 413 past the size limit.
/// </summary>
internal sealed class FileEndpoints(FileStore files, long maxFileBytes)
{
    /// <summary>Room for the multipart framing and the purpose field on top of the file itself.</summary>
    private const long MultipartOverhead = 64 * 1024;

    /// <summary>
    /// The longest text field (<c>purpose</c>) read, in bytes. OpenAI's purposes are short words; a longer value is
    /// refused as soon as its 257th byte arrives rather than read into memory.
    /// </summary>
    public const int MaxFieldBytes = 256;

    /// <summary>The longest file name kept (it is stored and sent back in every file object).</summary>
    public const int MaxFilenameLength = 255;

    public async Task UploadAsync(HttpContext context)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = RequestBody.DrainLimit(maxFileBytes + MultipartOverhead);
        }

        if (request.ContentLength > maxFileBytes + MultipartOverhead)
        {
            await DrainAsync(request, aborted).ConfigureAwait(false);
            throw TooLarge();
        }

        // RFC 2046 allows boundaries of 1 to 70 characters; a longer one is not multipart (and overflows the reader's buffer).
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType) || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 and <= 70 } boundary)
        {
            throw ApiException.BadRequest("POST /v1/files takes a multipart/form-data body with 'purpose' and 'file' fields");
        }

        var reader = new MultipartReader(boundary, request.Body) { HeadersCountLimit = 16, HeadersLengthLimit = 16 * 1024 };
        string? purpose = null;
        string? filename = null;
        string? tempPath = null;
        try
        {
            while (await ReadMultipartAsync(() => reader.ReadNextSectionAsync(aborted)).ConfigureAwait(false) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                {
                    continue;
                }

                // Other fields (OpenAI's expires_after, say) are skipped: the reader drains them without keeping them.
                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                if (name == "purpose")
                {
                    purpose = await ReadFieldAsync(section.Body, "purpose", aborted).ConfigureAwait(false);
                    if (purpose is null)
                    {
                        await DrainAsync(request, aborted).ConfigureAwait(false);
                        throw ApiException.BadRequest($"'purpose' is longer than {MaxFieldBytes} bytes", "purpose");
                    }
                }
                else if (name == "file" && tempPath is null)
                {
                    filename = HeaderUtilities.RemoveQuotes(disposition.FileName).Value ?? "upload.jsonl";
                    if (filename.Length > MaxFilenameLength)
                    {
                        await DrainAsync(request, aborted).ConfigureAwait(false);
                        throw ApiException.BadRequest($"the file name is longer than {MaxFilenameLength} characters", "file");
                    }

                    tempPath = files.TempPath();
                    if (!await CopyLimitedAsync(section.Body, tempPath, aborted).ConfigureAwait(false))
                    {
                        await DrainAsync(request, aborted).ConfigureAwait(false);
                        throw TooLarge();
                    }
                }
            }

            if (tempPath is null)
            {
                throw ApiException.BadRequest("the 'file' field is required", "file");
            }

            if (purpose != StoredFile.BatchPurpose)
            {
                throw ApiException.BadRequest($"'purpose' must be 'batch' (the only purpose this server keeps files for), got '{ApiText.Truncate(purpose)}'", "purpose");
            }

            var file = files.Commit(tempPath, Path.GetFileName(filename!), purpose);
            tempPath = null;
            await JsonResponse.WriteAsync(context, file.WriteJson).ConfigureAwait(false);
        }
        finally
        {
            if (tempPath is not null)
            {
                File.Delete(tempPath);
            }
        }
    }

    public async Task ListAsync(HttpContext context)
    {
        var purpose = context.Request.Query["purpose"].ToString() is { Length: > 0 } p ? p : null;
        var limit = JsonResponse.Limit(context.Request, fallback: 10000, max: 10000);
        var after = context.Request.Query["after"].ToString() is { Length: > 0 } a ? a : null;
        var page = files.List(purpose, limit + 1, after);
        var hasMore = page.Count > limit;
        var items = hasMore ? page[..limit] : page;
        await JsonResponse.WriteAsync(context, json => JsonResponse.WriteList(json, items, hasMore, f => f.Id, (j, f) => f.WriteJson(j))).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context)
    {
        var file = Find(context);
        await JsonResponse.WriteAsync(context, file.WriteJson).ConfigureAwait(false);
    }

    public async Task DeleteAsync(HttpContext context)
    {
        var file = Find(context);
        files.Delete(file.Id);
        await JsonResponse.WriteAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("id", file.Id);
            json.WriteString("object", "file");
            json.WriteBoolean("deleted", true);
            json.WriteEndObject();
        }).ConfigureAwait(false);
    }

    public async Task ContentAsync(HttpContext context)
    {
        var file = Find(context);
        context.Response.ContentType = "application/octet-stream";
        await context.Response.SendFileAsync(files.PathOf(file.Id), context.RequestAborted).ConfigureAwait(false);
    }

    private StoredFile Find(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string ?? string.Empty;
        StoredFile? file;
        try
        {
            file = files.Get(id);
            _ = files.PathOf(id);
        }
        catch (ArgumentException)
        {
            file = null;
        }

        return file ?? throw new ApiException(404, $"no file with id '{ApiText.Truncate(id)}'", "id", "file_not_found");
    }

    /// <summary>Copies the file part to disk; false (and nothing kept) when it is larger than the limit.</summary>
    private async Task<bool> CopyLimitedAsync(Stream source, string path, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        long written = 0;
        await using (var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        {
            int read;
            while ((read = await ReadMultipartAsync(() => source.ReadAsync(buffer, cancellationToken).AsTask()).ConfigureAwait(false)) > 0)
            {
                written += read;
                if (written > maxFileBytes)
                {
                    return false;
                }

                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            await target.FlushAsync(cancellationToken).ConfigureAwait(false);
            target.Flush(flushToDisk: true);
        }

        return true;
    }

    /// <summary>A text field's value, or null when it is longer than <see cref="MaxFieldBytes"/> (then only that much was read).</summary>
    private static async Task<string?> ReadFieldAsync(Stream body, string name, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxFieldBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length
            && (read = await ReadMultipartAsync(() => body.ReadAsync(buffer.AsMemory(length), cancellationToken).AsTask()).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        if (length > MaxFieldBytes)
        {
            return null;
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, length).Trim();
        }
        catch (DecoderFallbackException)
        {
            throw ApiException.BadRequest($"'{name}' is not valid UTF-8", name);
        }
    }

    /// <summary>
    /// One read of the multipart structure; a body that breaks the format (no closing boundary, oversized part
    /// headers, a truncated part) is the client's 400, not a 500. Kestrel's own refusals (a body past its limit) and the
    /// client going away stay what they are.
    /// </summary>
    private static async Task<T> ReadMultipartAsync<T>(Func<Task<T>> read)
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw ApiException.BadRequest($"the multipart body is malformed: {e.Message}");
        }
        catch (IOException e) when (e is not BadHttpRequestException && e is not ConnectionResetException)
        {
            throw ApiException.BadRequest($"the multipart body is malformed: {e.Message}");
        }
    }

    private ApiException TooLarge() =>
        new(413, $"the file is larger than this server's limit of {maxFileBytes} bytes", "file", "file_too_large");

    /// <summary>Reads the rest of the body so an HTTP/1.1 client that is still sending gets the 413 instead of a broken pipe.</summary>
    private static async Task DrainAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        while (await request.Body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
        {
        }
    }
}
