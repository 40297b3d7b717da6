namespace Brim.Server.Tests.Batches;

/// <summary>
/// The crash test: a batch runs in a real `brim serve` process that is killed with SIGKILL mid-batch and started again
/// on the same data directory; the batch must finish with exactly one result per input line.
/// </summary>
public sealed class BatchDurabilityTests : IDisposable
{
    private const string ApiKey = "durability-key";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("brim-durability-").FullName;

    [Fact]
    public async Task Batch_ServerKilledMidBatchAndRestarted_EveryLineAnsweredExactlyOnce()
    {
        const int goodLines = 600;
        var lines = Enumerable.Range(0, goodLines).Select(i => BatchInput.ChatLine($"line-{i}", $"Tell story number {i}", 8)).ToList();
        // Malformed lines planted at these 1-based line numbers (after insertion, in ascending order).
        var planted = new SortedDictionary<int, string>
        {
            [10] = "{ broken json",
            [200] = BatchInput.ChatLine("line-5", "duplicate custom_id", 8),
            [333] = """{"custom_id":"no-body","method":"POST","url":"/v1/chat/completions"}""",
            [480] = """{"custom_id":"bad-max","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}],"max_tokens":0}}""",
        };
        foreach (var (line, text) in planted)
        {
            lines.Insert(line - 1, text);
        }

        // Few batch slots keep the batch running long enough to be killed in the middle of it.
        string[] serveArguments = ["--max-num-seqs", "16", "--threads", "2"];
        string batchId;
        int completedBeforeKill;
        using (var first = await BrimServeProcess.StartAsync(_dataDirectory, ApiKey, serveArguments))
        {
            var client = new BatchTestClient(first.BaseAddress, ApiKey);
            var created = await client.CreateAsync(await client.UploadAsync(BatchInput.Join(lines)));
            batchId = created.GetProperty("id").GetString()!;
            var running = await client.WaitAsync(batchId, b => BatchTestClient.Counts(b).Completed >= 50, Timeout);
            first.Kill();
            completedBeforeKill = BatchTestClient.Counts(running).Completed;
            Assert.True(completedBeforeKill < goodLines, $"the batch finished before the kill; make it longer:\n{first.Log}");
        }

        using var second = await BrimServeProcess.StartAsync(_dataDirectory, ApiKey, serveArguments);
        var restarted = new BatchTestClient(second.BaseAddress, ApiKey);
        var batch = await restarted.WaitAsync(batchId, b => BatchTestClient.Status(b) is "completed" or "failed" or "cancelled", Timeout);

        Assert.Equal("completed", BatchTestClient.Status(batch));
        Assert.Equal((goodLines + planted.Count, goodLines, planted.Count), BatchTestClient.Counts(batch));
        var output = await restarted.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!);
        var customIds = output.Select(l => l.GetProperty("custom_id").GetString()!).ToList();
        Assert.Equal(goodLines, customIds.Count);
        Assert.Equal(Enumerable.Range(0, goodLines).Select(i => $"line-{i}"), customIds); // each once, in input order
        Assert.All(output, l => Assert.Equal(200, l.GetProperty("response").GetProperty("status_code").GetInt32()));
        var errors = await restarted.ReadLinesAsync(batch.GetProperty("error_file_id").GetString()!);
        Assert.Equal(planted.Keys, errors.Select(e => e.GetProperty("error").GetProperty("line").GetInt32()));
    }

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);
}
