using System.Text.Json;
using Brim.Server.Api;
using Brim.Server.Files;
using Microsoft.AspNetCore.Http;

namespace Brim.Server.Batches;

/// <summary>The OpenAI Batch API: POST /v1/batches, GET /v1/batches (limit, after), GET /v1/batches/{id}, POST /v1/batches/{id}/cancel.</summary>
internal sealed class BatchEndpoints(BatchStore batches, FileStore files, BatchRunner runner, ServerOptions options)
{
    private const string CompletionWindow = "24h";
    private const int MaxMetadataPairs = 16;

    public async Task CreateAsync(HttpContext context)
    {
        BatchRecord batch;
        using (var body = await RequestBody.ReadJsonAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false))
        {
            batch = Parse(body.RootElement);
        }

        batches.Create(batch);
        runner.Wake();
        await JsonResponse.WriteAsync(context, batch.WriteJson).ConfigureAwait(false);
    }

    public async Task GetAsync(HttpContext context)
    {
        var batch = Find(context);
        await JsonResponse.WriteAsync(context, batch.WriteJson).ConfigureAwait(false);
    }

    public async Task ListAsync(HttpContext context)
    {
        var limit = JsonResponse.Limit(context.Request, fallback: 20, max: 100);
        var after = context.Request.Query["after"].ToString() is { Length: > 0 } a ? a : null;
        var page = batches.List(limit + 1, after);
        var hasMore = page.Count > limit;
        var items = hasMore ? page[..limit] : page;
        await JsonResponse.WriteAsync(context, json => JsonResponse.WriteList(json, items, hasMore, b => b.Id, (j, b) => b.WriteJson(j))).ConfigureAwait(false);
    }

    /// <summary>Stops scheduling the batch's lines and cancels those running; finished lines are kept (cancelling → cancelled).</summary>
    public async Task CancelAsync(HttpContext context)
    {
        var batch = Find(context);
        if (!batches.Transition(batch.Id, [BatchStatus.Validating, BatchStatus.InProgress], BatchStatus.Cancelling, "cancelling_at"))
        {
            batch = batches.Get(batch.Id)!;
            if (batch.Status is not (BatchStatus.Cancelling or BatchStatus.Cancelled))
            {
                throw new ApiException(409, $"the batch is {batch.Status} and can no longer be cancelled", code: "batch_not_cancellable");
            }
        }

        runner.Wake();
        await JsonResponse.WriteAsync(context, batches.Get(batch.Id)!.WriteJson).ConfigureAwait(false);
    }

    private BatchRecord Find(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string ?? string.Empty;
        return batches.Get(id) ?? throw new ApiException(404, $"no batch with id '{ApiText.Truncate(id)}'", "batch_id", "batch_not_found");
    }

    private BatchRecord Parse(JsonElement root)
    {
        var inputFileId = JsonFields.String(root, "input_file_id") ?? throw ApiException.BadRequest("'input_file_id' is required", "input_file_id");
        var input = files.Get(inputFileId) ?? throw new ApiException(404, $"no file with id '{ApiText.Truncate(inputFileId)}'", "input_file_id", "file_not_found");
        if (input.Purpose != StoredFile.BatchPurpose)
        {
            throw ApiException.BadRequest($"the file '{ApiText.Truncate(inputFileId)}' has purpose '{input.Purpose}'; a batch reads a file uploaded with purpose 'batch'", "input_file_id");
        }

        var endpoint = JsonFields.String(root, "endpoint") ?? throw ApiException.BadRequest("'endpoint' is required", "endpoint");
        if (BatchEndpointKind.Parse(endpoint) is null)
        {
            throw ApiException.BadRequest($"'endpoint' must be '{BatchEndpointKind.Chat}' or '{BatchEndpointKind.Completions}', got '{ApiText.Truncate(endpoint)}'", "endpoint");
        }

        var window = JsonFields.String(root, "completion_window") ?? throw ApiException.BadRequest("'completion_window' is required", "completion_window");
        if (window != CompletionWindow)
        {
            throw ApiException.BadRequest($"'completion_window' must be '{CompletionWindow}', got '{ApiText.Truncate(window)}'", "completion_window");
        }

        var created = batches.UnixNow();
        return new BatchRecord
        {
            Id = BatchRecord.NewId(),
            Endpoint = endpoint,
            InputFileId = inputFileId,
            CompletionWindow = window,
            Status = BatchStatus.Validating,
            Metadata = ParseMetadata(root),
            CreatedAt = created,
            ExpiresAt = created + (long)Math.Ceiling(options.BatchCompletionWindow.TotalSeconds),
        };
    }

    /// <summary>OpenAI's metadata: up to 16 string pairs, keys up to 64 characters, values up to 512.</summary>
    private static string? ParseMetadata(JsonElement root)
    {
        if (JsonFields.Get(root, "metadata") is not { } metadata || metadata.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.WrongType("metadata", "an object of string values", metadata);
        }

        var count = 0;
        foreach (var pair in metadata.EnumerateObject())
        {
            if (++count > MaxMetadataPairs || pair.Name.Length > 64 || pair.Value.ValueKind != JsonValueKind.String || pair.Value.GetString()!.Length > 512)
            {
                throw ApiException.BadRequest("'metadata' takes at most 16 pairs of a key (up to 64 characters) and a string value (up to 512)", "metadata");
            }
        }

        return metadata.GetRawText();
    }
}
