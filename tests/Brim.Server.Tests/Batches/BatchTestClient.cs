using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;

namespace Brim.Server.Tests.Batches;

/// <summary>
/// The official SDK's file and batch clients against a Brim server, with the few steps every batch test takes:
/// upload a JSONL input, create a batch, poll it, read its output lines. The SDK's batch client is protocol-level
/// (JSON in, JSON out), so batches are read as <see cref="JsonElement"/>.
/// </summary>
internal sealed class BatchTestClient(Uri baseAddress, string apiKey)
{
    private readonly OpenAIClient _client = new(new ApiKeyCredential(apiKey), new OpenAIClientOptions { Endpoint = new Uri(baseAddress, "v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    public OpenAIFileClient Files => _client.GetOpenAIFileClient();

#pragma warning disable OPENAI001 // the batch client is marked experimental in the SDK
    public BatchClient Batches => _client.GetBatchClient();

    public async Task<string> UploadAsync(string jsonl)
    {
        OpenAIFile file = await Files.UploadFileAsync(BinaryData.FromString(jsonl), "input.jsonl", FileUploadPurpose.Batch);
        return file.Id;
    }

    /// <summary>Creates a batch over an uploaded file and returns its Batch object.</summary>
    public async Task<JsonElement> CreateAsync(string inputFileId, string endpoint = "/v1/chat/completions", object? metadata = null)
    {
        var body = BinaryContent.Create(BinaryData.FromObjectAsJson(new
        {
            input_file_id = inputFileId,
            endpoint,
            completion_window = "24h",
            metadata,
        }));
        var operation = await Batches.CreateBatchAsync(body, waitUntilCompleted: false);
        return Parse(operation.GetRawResponse());
    }

    public async Task<JsonElement> GetAsync(string batchId) => Parse((await Batches.GetBatchAsync(batchId, new RequestOptions())).GetRawResponse());

    public async Task<JsonElement> CancelAsync(string batchId)
    {
        var operation = await CreateBatchOperation.RehydrateAsync(Batches, batchId);
        return Parse((await operation.CancelAsync(new RequestOptions())).GetRawResponse());
    }
#pragma warning restore OPENAI001

    /// <summary>Polls the batch until <paramref name="done"/> holds for it, or fails after <paramref name="timeout"/>.</summary>
    public async Task<JsonElement> WaitAsync(string batchId, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var batch = await GetAsync(batchId);
            if (done(batch))
            {
                return batch;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"batch {batchId} did not get there in {timeout}: {batch}");
            }

            await Task.Delay(20);
        }
    }

    public Task<JsonElement> WaitForStatusAsync(string batchId, string status, TimeSpan timeout) =>
        WaitAsync(batchId, b => Status(b) == status, timeout);

    /// <summary>The lines of a file (an output or error file), parsed.</summary>
    public async Task<List<JsonElement>> ReadLinesAsync(string fileId)
    {
        BinaryData content = await Files.DownloadFileAsync(fileId);
        return content.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    public static string Status(JsonElement batch) => batch.GetProperty("status").GetString()!;

    /// <summary>Whether the batch reached a status it never leaves.</summary>
    public static bool IsTerminal(JsonElement batch) => Status(batch) is "completed" or "failed" or "cancelled" or "expired";

    public static (int Total, int Completed, int Failed) Counts(JsonElement batch)
    {
        var counts = batch.GetProperty("request_counts");
        return (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32());
    }

    private static JsonElement Parse(PipelineResponse response) => JsonDocument.Parse(response.Content.ToString()).RootElement.Clone();
}

/// <summary>Builds JSONL batch input.</summary>
internal static class BatchInput
{
    public static string ChatLine(string customId, string userText, int maxTokens, string url = "/v1/chat/completions") =>
        JsonSerializer.Serialize(new
        {
            custom_id = customId,
            method = "POST",
            url,
            body = new
            {
                model = ServerFixture.ModelName,
                messages = new[] { new { role = "user", content = userText } },
                max_tokens = maxTokens,
                temperature = 0,
            },
        });

    public static string CompletionLine(string customId, string prompt, int maxTokens) =>
        JsonSerializer.Serialize(new
        {
            custom_id = customId,
            method = "POST",
            url = "/v1/completions",
            body = new { model = ServerFixture.ModelName, prompt, max_tokens = maxTokens, temperature = 0 },
        });

    public static string Join(IEnumerable<string> lines)
    {
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }
}
