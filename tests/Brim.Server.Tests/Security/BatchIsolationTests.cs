using Brim.Server.Batches;
using Brim.Server.Tests.Batches;

namespace Brim.Server.Tests.Security;

/// <summary>
/// One batch that cannot be validated or run never holds up the others: its failure is its own (the batch's error, or
/// a line's), also when the runner meets it after a restart.
/// </summary>
public sealed class BatchIsolationTests : IDisposable
{
    private const string ApiKey = "isolation-key";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("brim-isolation-").FullName;

    [Fact]
    public async Task Batch_InputContentGoneFromDisk_FailsAloneAndTheNextBatchCompletes()
    {
        await using var server = await OwnedBatchServer.StartAsync(_dataDirectory, ApiKey);
        var client = new BatchTestClient(server.Server.BaseAddress, ApiKey);
        var broken = await client.UploadAsync(BatchInput.Join([BatchInput.ChatLine("gone", "Hi", 2)]));
        File.Delete(Path.Combine(_dataDirectory, "files", broken)); // the row stays; reading the content throws

        var failed = await client.CreateAsync(broken);
        var normal = await client.CreateAsync(await client.UploadAsync(BatchInput.Join([BatchInput.ChatLine("ok", "Hi", 2)])));

        var normalDone = await client.WaitForStatusAsync(normal.GetProperty("id").GetString()!, "completed", Timeout);
        Assert.Equal((1, 1, 0), BatchTestClient.Counts(normalDone));
        var failedDone = await client.WaitForStatusAsync(failed.GetProperty("id").GetString()!, "failed", Timeout);
        Assert.Equal("validation_failed", failedDone.GetProperty("errors").GetProperty("data")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task PoisonBatch_FoundValidatingAfterRestart_CompletesBesideANewBatch()
    {
        string inputId;
        await using (var first = await OwnedBatchServer.StartAsync(_dataDirectory, ApiKey))
        {
            var client = new BatchTestClient(first.Server.BaseAddress, ApiKey);
            inputId = await client.UploadAsync(BatchInput.Join(
            [
                BatchInput.ChatLine("a", "Hi", 2),
                """{"custom_id":"\udc00","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]}}""",
                BatchInput.ChatLine("c", "Hi", 2),
            ]));
        }

        // A batch the previous process accepted but never validated, as a crash right after POST /v1/batches leaves it.
        var batchId = BatchRecord.NewId();
        using (var database = new BatchDatabase(_dataDirectory))
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            new BatchStore(database, TimeProvider.System).Create(new BatchRecord
            {
                Id = batchId, Endpoint = "/v1/chat/completions", InputFileId = inputId, CompletionWindow = "24h",
                Status = BatchStatus.Validating, CreatedAt = now, ExpiresAt = now + 86400,
            });
        }

        await using var second = await OwnedBatchServer.StartAsync(_dataDirectory, ApiKey);
        var restarted = new BatchTestClient(second.Server.BaseAddress, ApiKey);
        var normal = await restarted.CreateAsync(await restarted.UploadAsync(BatchInput.Join([BatchInput.ChatLine("n", "Hi", 2)])));

        Assert.Equal((1, 1, 0), BatchTestClient.Counts(await restarted.WaitForStatusAsync(normal.GetProperty("id").GetString()!, "completed", Timeout)));
        var poison = await restarted.WaitForStatusAsync(batchId, "completed", Timeout);
        Assert.Equal((3, 2, 1), BatchTestClient.Counts(poison));
        var errors = await restarted.ReadLinesAsync(poison.GetProperty("error_file_id").GetString()!);
        Assert.Equal(2, errors.Single().GetProperty("error").GetProperty("line").GetInt32());
    }

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);
}
