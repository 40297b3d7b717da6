using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Brim.Server.Tests.Batches;

namespace Brim.Server.Tests.Security;

/// <summary>
/// Oversized input is refused as it streams by, not read into memory: a 100 MiB multipart <c>purpose</c> field and a
/// 100 MiB batch line each leave the process's resident set within <see cref="MaxGrowth"/> of where it was, at the peak
/// and after a GC (reading either whole took several times its size: a UTF-16 string plus the builder that made it).
/// </summary>
[Collection(MemoryBoundCollection.Name)]
public sealed class InputMemoryBoundTests : IAsyncLifetime
{
    /// <summary>The allowed growth of the resident set: well under the input, well over buffers and pools.</summary>
    private const long MaxGrowth = 64L * 1024 * 1024;

    private const long Oversized = 100L * 1024 * 1024;
    private const string ApiKey = "memory-key";
    private const string Boundary = "brim-memory-boundary";

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("brim-memory-test-").FullName;
    private OwnedServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await OwnedServer.StartAsync(new ServerOptions { ApiKeys = [ApiKey], DataDirectory = _dataDirectory });

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Upload_100MiBPurposeField_400QuicklyAndMemoryBounded()
    {
        using var http = _server.CreateClient(ApiKey);
        using var content = Multipart($"--{Boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n", (byte)'p', Oversized, $"\r\n--{Boundary}--\r\n");
        var clock = Stopwatch.StartNew();
        await using var rss = RssSampler.Start();

        using var response = await http.PostAsync("v1/files", content);
        var text = await response.Content.ReadAsStringAsync();
        var (peak, settled) = await rss.StopAsync();

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("purpose", (string?)JsonNode.Parse(text)!["error"]!["param"]);
        Assert.True(text.Length < 1024, $"the error echoes the field: {text.Length} bytes");
        Assert.True(peak < MaxGrowth, $"the resident set grew by {peak >> 20} MiB at its peak");
        Assert.True(settled < MaxGrowth, $"the resident set kept {settled >> 20} MiB");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Batch_100MiBLine_ThatLineFailsOthersRunMemoryBounded()
    {
        using var http = _server.CreateClient(ApiKey);
        var before = BatchInput.ChatLine("before", "Once upon a time", 3) + "\n";
        var after = BatchInput.ChatLine("after", "A cat", 3) + "\n";
        var bigStart = """{"custom_id":"big","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":" """;
        var bigEnd = "\"}]}}\n";
        using var content = Multipart(
            $"--{Boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--{Boundary}\r\n" +
            "Content-Disposition: form-data; name=\"file\"; filename=\"big.jsonl\"\r\n\r\n" + before + bigStart,
            (byte)'a', Oversized, bigEnd + after + $"\r\n--{Boundary}--\r\n");
        var client = new BatchTestClient(_server.BaseAddress, ApiKey);
        var clock = Stopwatch.StartNew();
        await using var rss = RssSampler.Start();

        using var upload = await http.PostAsync("v1/files", content);
        var fileId = (string)JsonNode.Parse(await upload.Content.ReadAsStringAsync())!["id"]!;
        var created = await client.CreateAsync(fileId);
        var batch = await client.WaitForStatusAsync(created.GetProperty("id").GetString()!, "completed", TimeSpan.FromSeconds(60));
        var (peak, settled) = await rss.StopAsync();

        Assert.Equal((3, 2, 1), BatchTestClient.Counts(batch));
        var output = await client.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!);
        Assert.Equal(["before", "after"], output.Select(l => l.GetProperty("custom_id").GetString()));
        var error = (await client.ReadLinesAsync(batch.GetProperty("error_file_id").GetString()!)).Single().GetProperty("error");
        Assert.Equal(2, error.GetProperty("line").GetInt32());
        Assert.Equal("line_too_long", error.GetProperty("code").GetString());
        Assert.True(peak < MaxGrowth, $"the resident set grew by {peak >> 20} MiB at its peak");
        Assert.True(settled < MaxGrowth, $"the resident set kept {settled >> 20} MiB");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    private static GeneratedContent Multipart(string prefix, byte filler, long count, string suffix)
    {
        var content = new GeneratedContent(Encoding.UTF8.GetBytes(prefix), filler, count, Encoding.UTF8.GetBytes(suffix));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={Boundary}");
        return content;
    }
}
