using System.ClientModel;
using System.Net.Http.Json;
using System.Text.Json;

namespace Brim.Server.Tests.Batches;

/// <summary>The Batch API through the official SDK against a real server and SQLite file: results, malformed lines, cancel, list, metrics.</summary>
public class BatchApiTests(BatchServerFixture fixture) : IClassFixture<BatchServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private BatchTestClient Client => fixture.CreateBatchClient();

    [Fact]
    public async Task CreateBatch_ChatLinesWithMalformedOnes_OutputInInputOrderAndErrorsWithLineNumbers()
    {
        var lines = Enumerable.Range(0, 12).Select(i => BatchInput.ChatLine($"req-{i}", $"Tell me story {i}", 8)).ToList();
        // Planted malformed lines (1-based line numbers in the file after insertion): 3, 6, 8, 10, 12.
        lines.Insert(2, "{ not json");
        lines.Insert(5, """{"method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]}}""");
        lines.Insert(7, BatchInput.ChatLine("req-0", "duplicate id", 8));
        lines.Insert(9, BatchInput.ChatLine("wrong-url", "x", 8, url: "/v1/embeddings"));
        lines.Insert(11, """{"custom_id":"bad-temp","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}],"temperature":5}}""");
        var client = Client;

        var created = await client.CreateAsync(await client.UploadAsync(BatchInput.Join(lines)), metadata: new { job = "nightly" });
        Assert.Equal("batch", created.GetProperty("object").GetString());
        Assert.Equal("validating", BatchTestClient.Status(created));
        Assert.Equal("nightly", created.GetProperty("metadata").GetProperty("job").GetString());
        var batch = await client.WaitForStatusAsync(created.GetProperty("id").GetString()!, "completed", Timeout);

        Assert.Equal((17, 12, 5), BatchTestClient.Counts(batch));
        var output = await client.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"req-{i}"), output.Select(l => l.GetProperty("custom_id").GetString()));
        foreach (var line in output)
        {
            Assert.StartsWith("batch_req_", line.GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
            var response = line.GetProperty("response");
            Assert.Equal(200, response.GetProperty("status_code").GetInt32());
            var body = response.GetProperty("body");
            Assert.Equal(response.GetProperty("request_id").GetString(), body.GetProperty("id").GetString());
            Assert.Equal("chat.completion", body.GetProperty("object").GetString());
            Assert.Equal(8, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        var errors = await client.ReadLinesAsync(batch.GetProperty("error_file_id").GetString()!);
        Assert.Equal([3, 6, 8, 10, 12], errors.Select(e => e.GetProperty("error").GetProperty("line").GetInt32()));
        Assert.Equal([null, null, null, "wrong-url", "bad-temp"], errors.Select(e => e.GetProperty("custom_id").GetString()));
        var messages = errors.Select(e => e.GetProperty("error").GetProperty("message").GetString()!).ToList();
        Assert.Contains("not valid JSON", messages[0], StringComparison.Ordinal);
        Assert.Contains("custom_id", messages[1], StringComparison.Ordinal);
        Assert.Contains("req-0", messages[2], StringComparison.Ordinal);
        Assert.Contains("/v1/embeddings", messages[3], StringComparison.Ordinal);
        Assert.Contains("temperature", messages[4], StringComparison.Ordinal);
        Assert.All(errors, e => Assert.Equal(JsonValueKind.Null, e.GetProperty("response").ValueKind));
    }

    [Fact]
    public async Task CreateBatch_Line_AnsweredAsTheOnlineEndpointAnswersIt()
    {
        var client = Client;
        var created = await client.CreateAsync(await client.UploadAsync(BatchInput.Join([
            BatchInput.ChatLine("chat", "Once upon a time", 16),
        ])));
        var batch = await client.WaitForStatusAsync(created.GetProperty("id").GetString()!, "completed", Timeout);
        var batchBody = (await client.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!))[0].GetProperty("response").GetProperty("body");

        using var online = await fixture.Http.PostAsJsonAsync("v1/chat/completions", JsonDocument.Parse(BatchInput.ChatLine("chat", "Once upon a time", 16)).RootElement.GetProperty("body"));
        online.EnsureSuccessStatusCode();
        var onlineBody = JsonDocument.Parse(await online.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(Text(onlineBody), Text(batchBody));
        foreach (var field in new[] { "prompt_tokens", "completion_tokens", "total_tokens" })
        {
            Assert.Equal(onlineBody.GetProperty("usage").GetProperty(field).GetInt32(), batchBody.GetProperty("usage").GetProperty(field).GetInt32());
        }

        // The same prompt twice: the second request (online, after the batch) finds the first one's prompt blocks cached.
        Assert.Equal(0, batchBody.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.True(onlineBody.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32() > 0);
        Assert.Equal(onlineBody.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), batchBody.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        static string Text(JsonElement body) => body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    [Fact]
    public async Task CreateBatch_CompletionsEndpoint_TextCompletionBodies()
    {
        var client = Client;
        var created = await client.CreateAsync(
            await client.UploadAsync(BatchInput.Join(Enumerable.Range(0, 5).Select(i => BatchInput.CompletionLine($"c{i}", "Once upon a time", 6)))),
            endpoint: "/v1/completions");
        var batch = await client.WaitForStatusAsync(created.GetProperty("id").GetString()!, "completed", Timeout);

        Assert.Equal((5, 5, 0), BatchTestClient.Counts(batch));
        Assert.Equal(JsonValueKind.Null, batch.GetProperty("error_file_id").ValueKind);
        var output = await client.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!);
        Assert.All(output, l => Assert.Equal("text_completion", l.GetProperty("response").GetProperty("body").GetProperty("object").GetString()));
        // Greedy, same prompt: every line gets the same text.
        Assert.Single(output.Select(l => l.GetProperty("response").GetProperty("body").GetProperty("choices")[0].GetProperty("text").GetString()).Distinct());
    }

    [Fact]
    public async Task CancelBatch_MidRun_KeepsFinishedLinesOnly()
    {
        var client = Client;
        // A few short lines finish at once; the long ones are still running when the cancel comes.
        var lines = Enumerable.Range(0, 400).Select(i => BatchInput.ChatLine($"long-{i}", $"Story {i}", i < 4 ? 2 : 200));
        var created = await client.CreateAsync(await client.UploadAsync(BatchInput.Join(lines)));
        var id = created.GetProperty("id").GetString()!;
        await client.WaitAsync(id, b => BatchTestClient.Counts(b).Completed > 0, Timeout);

        var cancelling = await client.CancelAsync(id);
        Assert.Contains(BatchTestClient.Status(cancelling), new[] { "cancelling", "cancelled" });
        var batch = await client.WaitForStatusAsync(id, "cancelled", Timeout);

        var (total, completed, failed) = BatchTestClient.Counts(batch);
        Assert.Equal(400, total);
        Assert.Equal(0, failed);
        Assert.InRange(completed, 1, 399);
        Assert.NotEqual(JsonValueKind.Null, batch.GetProperty("cancelled_at").ValueKind);
        var output = await client.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!);
        Assert.Equal(completed, output.Count);
        Assert.All(output, l => Assert.Equal(200, l.GetProperty("response").GetProperty("status_code").GetInt32()));
        Assert.Equal(output.Count, output.Select(l => l.GetProperty("custom_id").GetString()).Distinct().Count());

        // Nothing runs after the cancel: the counts stay where they are.
        await Task.Delay(300);
        Assert.Equal(completed, BatchTestClient.Counts(await client.GetAsync(id)).Completed);
        var again = await Assert.ThrowsAsync<ClientResultException>(() => client.CancelAsync(created.GetProperty("input_file_id").GetString()!));
        Assert.Equal(404, again.Status);
    }

    [Fact]
    public async Task GetBatches_LimitAndAfter_PagesNewestFirst()
    {
        var client = Client;
        var file = await client.UploadAsync(BatchInput.Join([BatchInput.ChatLine("one", "Hi", 2)]));
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await client.CreateAsync(file)).GetProperty("id").GetString()!);
        }

        using var first = JsonDocument.Parse(await fixture.Http.GetStringAsync("v1/batches?limit=2"));
        var page = first.RootElement.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()!).ToList();
        Assert.Equal(2, page.Count);
        Assert.True(first.RootElement.GetProperty("has_more").GetBoolean());
        using var second = JsonDocument.Parse(await fixture.Http.GetStringAsync($"v1/batches?limit=100&after={page[^1]}"));
        var rest = second.RootElement.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()!).ToList();

        Assert.Empty(page.Intersect(rest));
        Assert.All(ids, id => Assert.Contains(id, page.Concat(rest)));

#pragma warning disable OPENAI001
        var viaSdk = new List<string>();
        await foreach (var raw in client.Batches.GetBatchesAsync(after: null, limit: 2, options: null).GetRawPagesAsync())
        {
            using var doc = JsonDocument.Parse(raw.GetRawResponse().Content.ToString());
            viaSdk.AddRange(doc.RootElement.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()!));
        }
#pragma warning restore OPENAI001
        Assert.All(ids, id => Assert.Contains(id, viaSdk));
        Assert.Equal(viaSdk.Count, viaSdk.Distinct().Count());
    }

    [Fact]
    public async Task CreateBatch_BadRequests_ClearErrors()
    {
        var client = Client;
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateAsync("file-nope"));
        Assert.Equal(404, missing.Status);
        var file = await client.UploadAsync(BatchInput.Join([BatchInput.ChatLine("one", "Hi", 2)]));
        var endpoint = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateAsync(file, endpoint: "/v1/embeddings"));
        Assert.Equal(400, endpoint.Status);
        Assert.Contains("endpoint", endpoint.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AfterABatch_ReportLinesAndBatchesByStatus()
    {
        var client = Client;
        var created = await client.CreateAsync(await client.UploadAsync(BatchInput.Join([BatchInput.ChatLine("m1", "Hi", 2), "oops"])));
        await client.WaitForStatusAsync(created.GetProperty("id").GetString()!, "completed", Timeout);

        var metrics = await MetricsText.ScrapeAsync(fixture.Http);

        Assert.True(MetricsText.Value(metrics, "brim:batch_lines_total", "outcome=\"completed\"") >= 1);
        Assert.True(MetricsText.Value(metrics, "brim:batch_lines_total", "outcome=\"failed\"") >= 1);
        Assert.True(MetricsText.Value(metrics, "brim:batches", "status=\"completed\"") >= 1);
        Assert.True(MetricsText.Value(metrics, "brim:offline_backlog_lines") >= 0);
    }
}
