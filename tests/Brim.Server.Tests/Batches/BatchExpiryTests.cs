using System.Text.Json;

namespace Brim.Server.Tests.Batches;

/// <summary>
/// A batch not finished by its expires_at becomes expired, as OpenAI defines it: lines finished in time stay in the
/// output file, the unfinished ones go to the error file with code batch_expired, and request_counts say so. The
/// deadline is read from the server's clock, which these tests move forward a day; it also applies to a batch found
/// unfinished after a restart.
/// </summary>
public sealed class BatchExpiryTests : IDisposable
{
    private const string ApiKey = "expiry-key";
    private const int Lines = 300;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Day = TimeSpan.FromHours(24);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("brim-expiry-").FullName;

    [Fact]
    public async Task Batch_DeadlinePassesMidBatch_ExpiredWithFinishedLinesKeptAndTheRestBatchExpired()
    {
        var clock = new AdjustableClock();
        await using var server = await StartAsync(clock);
        var client = new BatchTestClient(server.Server.BaseAddress, ApiKey);
        var created = await client.CreateAsync(await client.UploadAsync(ManyLines()), "/v1/completions");
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(created.GetProperty("created_at").GetInt64() + (long)Day.TotalSeconds, created.GetProperty("expires_at").GetInt64());
        await client.WaitAsync(id, b => BatchTestClient.Counts(b).Completed > 0, Timeout);

        clock.Advance(Day + TimeSpan.FromMinutes(1));
        var batch = await client.WaitAsync(id, b => BatchTestClient.IsTerminal(b), Timeout);

        await AssertExpiredAsync(client, batch);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.Host.Engine.UsedKvBlocks != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10); // the cancelled lines' blocks are freed at the engine's next step
        }

        Assert.Equal(0, server.Host.Engine.UsedKvBlocks);
    }

    [Fact]
    public async Task Batch_FoundUnfinishedAfterRestartPastItsDeadline_ExpiresWithoutRunningMoreLines()
    {
        string id;
        await using (var first = await StartAsync(new AdjustableClock()))
        {
            var client = new BatchTestClient(first.Server.BaseAddress, ApiKey);
            var created = await client.CreateAsync(await client.UploadAsync(ManyLines()), "/v1/completions");
            id = created.GetProperty("id").GetString()!;
            var running = await client.WaitAsync(id, b => BatchTestClient.Counts(b).Completed > 0, Timeout);
            Assert.Equal("in_progress", BatchTestClient.Status(running));
        }

        var later = new AdjustableClock();
        later.Advance(Day + TimeSpan.FromHours(1)); // the server was down past the batch's deadline
        await using var second = await StartAsync(later);
        var restarted = new BatchTestClient(second.Server.BaseAddress, ApiKey);
        var batch = await restarted.WaitAsync(id, b => BatchTestClient.IsTerminal(b), Timeout);

        await AssertExpiredAsync(restarted, batch);
        var metrics = await MetricsText.ScrapeAsync(second.Http);
        Assert.Equal(0, MetricsText.Sum(metrics, "brim:request_success_total")); // no line ran after the restart
    }

    /// <summary>Many lines through few slots (16 tokens each, ignore_eos), so the batch is still running when its deadline passes.</summary>
    private static string ManyLines() => BatchInput.Join(Enumerable.Range(0, Lines).Select(i => JsonSerializer.Serialize(new
    {
        custom_id = $"line-{i}",
        method = "POST",
        url = "/v1/completions",
        body = new { model = ServerFixture.ModelName, prompt = $"Story {i}", max_tokens = 16, ignore_eos = true, temperature = 0 },
    })));

    private static async Task AssertExpiredAsync(BatchTestClient client, JsonElement batch)
    {
        Assert.Equal("expired", BatchTestClient.Status(batch));
        Assert.True(batch.GetProperty("expired_at").GetInt64() >= batch.GetProperty("expires_at").GetInt64());
        Assert.Equal(JsonValueKind.Null, batch.GetProperty("completed_at").ValueKind);
        var (total, completed, failed) = BatchTestClient.Counts(batch);
        Assert.Equal(Lines, total);
        Assert.True(completed > 0 && failed > 0, $"completed {completed}, failed {failed}");
        Assert.Equal(total, completed + failed);

        var output = await client.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!);
        var errors = await client.ReadLinesAsync(batch.GetProperty("error_file_id").GetString()!);
        Assert.Equal(completed, output.Count);
        Assert.Equal(failed, errors.Count);
        Assert.All(output, l => Assert.Equal(200, l.GetProperty("response").GetProperty("status_code").GetInt32()));
        Assert.All(errors, e =>
        {
            Assert.Equal(JsonValueKind.Null, e.GetProperty("response").ValueKind);
            Assert.Equal("batch_expired", e.GetProperty("error").GetProperty("code").GetString());
        });

        // Every line is answered exactly once: in the output if it finished in time, else in the error file.
        var answered = output.Concat(errors).Select(l => l.GetProperty("custom_id").GetString()!).Order(StringComparer.Ordinal);
        Assert.Equal(Enumerable.Range(0, Lines).Select(i => $"line-{i}").Order(StringComparer.Ordinal), answered);
    }

    private Task<OwnedServer> StartAsync(TimeProvider clock) => OwnedBatchServer.StartAsync(_dataDirectory, ApiKey, clock);

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);
}
