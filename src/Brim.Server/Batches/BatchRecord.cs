using System.Text.Json;
using Brim.Server.Files;

namespace Brim.Server.Batches;

/// <summary>One batch as stored, and its OpenAI Batch object.</summary>
internal sealed record BatchRecord
{
    public required string Id { get; init; }

    public required string Endpoint { get; init; }

    public required string InputFileId { get; init; }

    public required string CompletionWindow { get; init; }

    public required string Status { get; init; }

    /// <summary>The metadata object as the client sent it (raw JSON), or null.</summary>
    public string? Metadata { get; init; }

    /// <summary>Why the batch failed as a whole (the <c>errors.data</c> list, raw JSON), or null.</summary>
    public string? Errors { get; init; }

    public string? OutputFileId { get; init; }

    public string? ErrorFileId { get; init; }

    public required long CreatedAt { get; init; }

    public required long ExpiresAt { get; init; }

    public long? InProgressAt { get; init; }

    public long? FinalizingAt { get; init; }

    public long? CompletedAt { get; init; }

    public long? FailedAt { get; init; }

    public long? CancellingAt { get; init; }

    public long? CancelledAt { get; init; }

    public long? ExpiredAt { get; init; }

    public int Total { get; init; }

    public int Completed { get; init; }

    public int Failed { get; init; }

    public static string NewId() => "batch_" + Guid.NewGuid().ToString("N");

    public void WriteJson(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id", Id);
        json.WriteString("object", "batch");
        json.WriteString("endpoint", Endpoint);
        if (Errors is null)
        {
            json.WriteNull("errors");
        }
        else
        {
            json.WriteStartObject("errors");
            json.WriteString("object", "list");
            json.WritePropertyName("data");
            json.WriteRawValue(Errors);
            json.WriteEndObject();
        }

        json.WriteString("input_file_id", InputFileId);
        json.WriteString("completion_window", CompletionWindow);
        json.WriteString("status", Status);
        JsonResponse.WriteNullable(json, "output_file_id", OutputFileId);
        JsonResponse.WriteNullable(json, "error_file_id", ErrorFileId);
        json.WriteNumber("created_at", CreatedAt);
        JsonResponse.WriteNullable(json, "in_progress_at", InProgressAt);
        json.WriteNumber("expires_at", ExpiresAt);
        JsonResponse.WriteNullable(json, "finalizing_at", FinalizingAt);
        JsonResponse.WriteNullable(json, "completed_at", CompletedAt);
        JsonResponse.WriteNullable(json, "failed_at", FailedAt);
        JsonResponse.WriteNullable(json, "expired_at", ExpiredAt);
        JsonResponse.WriteNullable(json, "cancelling_at", CancellingAt);
        JsonResponse.WriteNullable(json, "cancelled_at", CancelledAt);
        json.WriteStartObject("request_counts");
        json.WriteNumber("total", Total);
        json.WriteNumber("completed", Completed);
        json.WriteNumber("failed", Failed);
        json.WriteEndObject();
        json.WritePropertyName("metadata");
        if (Metadata is null)
        {
            json.WriteNullValue();
        }
        else
        {
            json.WriteRawValue(Metadata);
        }

        json.WriteEndObject();
    }
}
