using System.Text.Json;
using Brim.Server.Tests.Batches;

namespace Brim.Server.Tests.Security;

/// <summary>
/// A batch line that the JSON parser accepts but .NET cannot read as a string (a lone surrogate escape) is that line's
/// error; it used to throw out of validation, and the runner's every pass with it, so no other batch moved.
/// </summary>
public class PoisonLineBatchTests(BatchServerFixture fixture) : IClassFixture<BatchServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PoisonLineBatch_BesideNormalBatch_BothCompleteAndOnlyThePoisonLineFails()
    {
        var client = fixture.CreateBatchClient();
        string[] poisonLines =
        [
            BatchInput.ChatLine("p-0", "Once upon a time", 4),
            """{"custom_id":"\ud800","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}],"max_tokens":4}}""",
            """{"custom_id":"p-2","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"bad \udfff"}],"max_tokens":4}}""",
            BatchInput.ChatLine("p-3", "A cat", 4),
        ];
        // The poisoned batch is created first, so a runner that stops at it would never reach the second.
        var poison = await client.CreateAsync(await client.UploadAsync(BatchInput.Join(poisonLines)));
        var normal = await client.CreateAsync(await client.UploadAsync(BatchInput.Join(Enumerable.Range(0, 3).Select(i => BatchInput.ChatLine($"n-{i}", $"Story {i}", 4)))));

        var normalDone = await client.WaitForStatusAsync(normal.GetProperty("id").GetString()!, "completed", Timeout);
        var poisonDone = await client.WaitForStatusAsync(poison.GetProperty("id").GetString()!, "completed", Timeout);

        Assert.Equal((3, 3, 0), BatchTestClient.Counts(normalDone));
        var normalOutput = await client.ReadLinesAsync(normalDone.GetProperty("output_file_id").GetString()!);
        Assert.Equal(["n-0", "n-1", "n-2"], normalOutput.Select(l => l.GetProperty("custom_id").GetString()));

        Assert.Equal((4, 2, 2), BatchTestClient.Counts(poisonDone));
        var output = await client.ReadLinesAsync(poisonDone.GetProperty("output_file_id").GetString()!);
        Assert.Equal(["p-0", "p-3"], output.Select(l => l.GetProperty("custom_id").GetString()));
        var errors = await client.ReadLinesAsync(poisonDone.GetProperty("error_file_id").GetString()!);
        Assert.Equal([2, 3], errors.Select(e => e.GetProperty("error").GetProperty("line").GetInt32()));
        Assert.All(errors, e => Assert.Equal("invalid_unicode", e.GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal(JsonValueKind.Null, errors[0].GetProperty("custom_id").ValueKind); // the id itself was the bad string
        Assert.Contains("custom_id", errors[0].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("p-2", errors[1].GetProperty("custom_id").GetString());
        Assert.Contains("body.messages[0].content", errors[1].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BatchLines_InvalidUtf8AndCarriageReturns_InvalidLineFailsOthersRun()
    {
        var client = fixture.CreateBatchClient();
        var good = System.Text.Encoding.UTF8.GetBytes(BatchInput.ChatLine("u-0", "Hi", 2) + "\r\n");
        byte[] invalid = [.. "{\"custom_id\":\"u-1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\""u8, 0xC3, 0x28, .. "\"}]}}\n"u8];
        var last = System.Text.Encoding.UTF8.GetBytes(BatchInput.ChatLine("u-2", "Hi", 2)); // no newline at the end

        OpenAI.Files.OpenAIFile file = await client.Files.UploadFileAsync(BinaryData.FromBytes([.. good, .. invalid, .. last]), "input.jsonl", OpenAI.Files.FileUploadPurpose.Batch);
        var created = await client.CreateAsync(file.Id);
        var batch = await client.WaitForStatusAsync(created.GetProperty("id").GetString()!, "completed", Timeout);

        Assert.Equal((3, 2, 1), BatchTestClient.Counts(batch));
        var errors = await client.ReadLinesAsync(batch.GetProperty("error_file_id").GetString()!);
        Assert.Equal(2, errors.Single().GetProperty("error").GetProperty("line").GetInt32());
        Assert.Contains("UTF-8", errors[0].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
