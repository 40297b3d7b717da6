using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Brim.Cli.Tests;

/// <summary>
/// `--swap-space` (every command that loads a model) and `brim serve --batch-completion-window`, through the real command
/// line: a real `brim serve` in-process on a loopback port, its /metrics and its Batch API; bad values exit 2 with a
/// message before anything is loaded.
/// </summary>
[Collection(ConsoleCollection.Name)]
public class SwapAndBatchWindowOptionsTests
{
    [Fact]
    public async Task Serve_SwapSpaceAndCompletionWindow_ReachTheEngineAndTheBatchApi()
    {
        var port = FreePort();
        var data = Directory.CreateTempSubdirectory("brim-cli-serve-");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var serve = CommandLine.RunAsync(
            stop.Token, "serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--device", "cpu", "--threads", "1",
            "--num-kv-blocks", "24", "--swap-space", "0.001", "--batch-completion-window", "90m", "--data-dir", data.FullName, "--drain-timeout", "1");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitUntilHealthyAsync(http, serve);

            // 0.001 GiB = 1,073,742 bytes; a CPU swap block holds float32 K and V of 5 layers × 16 positions × 32 dims
            // = 20,480 bytes, so 52 whole blocks.
            var metrics = await http.GetStringAsync("metrics");
            Assert.Contains("\nbrim:swap_blocks_capacity{model_name=\"stories260K\"} 52\n", metrics, StringComparison.Ordinal);

            var batch = await CreateBatchAsync(http);
            Assert.Equal(90 * 60, batch.GetProperty("expires_at").GetInt64() - batch.GetProperty("created_at").GetInt64());
        }
        finally
        {
            await stop.CancelAsync();
        }

        var (code, _, error) = await serve;
        Assert.True(code == 0, error);
        Assert.Contains("52 host swap blocks", error, StringComparison.Ordinal);
        Assert.Contains("batches expire after 90m", error, StringComparison.Ordinal);
        data.Delete(recursive: true);
    }

    [Fact]
    public async Task Generate_SwapSpaceOnTheCpu_PrintsTheSameStory()
    {
        var (code, output, error) = await CommandLine.RunAsync(
            "generate", "Once upon a time", "-t", "0", "-n", "40", "--threads", "1", "--num-kv-blocks", "64", "--device", "cpu", "--swap-space", "0.01");

        Assert.True(code == 0, error);
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("generate", "--swap-space", "-1", "--swap-space must be 0 or more GiB; got '-1'")]
    [InlineData("generate", "--swap-space", "lots", "--swap-space must be 0 or more GiB; got 'lots'")]
    [InlineData("bench", "--swap-space", "100000", "--swap-space 100000 GiB is more than 70 % of this machine's")]
    [InlineData("serve", "--swap-space", "NaN", "--swap-space must be 0 or more GiB")]
    [InlineData("bench serve", "--swap-space", "-0.5", "--swap-space must be 0 or more GiB; got '-0.5'")]
    [InlineData("serve", "--batch-completion-window", "24", "--batch-completion-window must be a number and a unit: s, m, h or d (e.g. 24h, 90m, 30s), at least 1s; got '24'")]
    [InlineData("serve", "--batch-completion-window", "0.5s", "at least 1s; got '0.5s'")]
    [InlineData("serve", "--batch-completion-window", "2w", "got '2w'")]
    [InlineData("serve", "--batch-completion-window", "-3h", "got '-3h'")]
    [InlineData("generate", "--max-num-seqs", "0", "--max-num-seqs must be a whole number of at least 1; got '0'")]
    [InlineData("bench", "--num-kv-blocks", "many", "--num-kv-blocks must be a whole number of at least 1; got 'many'")]
    [InlineData("bench", "--gpu-memory-utilization", "1.5", "--gpu-memory-utilization must be in (0, 1]; got '1.5'")]
    [InlineData("generate", "--speculative-config", "{\"method\":\"eagle\"}", "--speculative-config: speculative method 'eagle' is not supported (supported: ngram, draft_model)")]
    [InlineData("serve", "--speculative-config", "{\"method\":\"ngram\",\"k\":4}", "--speculative-config: speculative config key 'k' is not supported")]
    [InlineData("bench", "--speculative-config", "{\"num_speculative_tokens\":99}", "num_speculative_tokens must be between 1 and 16 (got 99)")]
    [InlineData("bench serve", "--request-rates", "4,0", "--request-rates must be positive rates or inf, separated by commas; got '4,0'")]
    public async Task Command_BadValue_ExitsWithCode2AndSaysWhy(string command, string option, string value, string message)
    {
        // A serve that got past parsing would run until stopped: the timeout turns that into a failure, not a hang.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string[] args = [.. command.Split(' '), option, value, "--device", "cpu", .. command == "serve" ? ["--port", "0"] : Array.Empty<string>()];
        var (code, output, error) = await CommandLine.RunAsync(timeout.Token, args);

        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Contains($"Run 'brim {command} --help' for the options.", error, StringComparison.Ordinal);
        Assert.Equal(2, error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // the one error, then the hint
        Assert.Empty(output);
    }

    private static async Task<JsonElement> CreateBatchAsync(HttpClient http)
    {
        var line = """{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"model":"stories260K","prompt":"Once","max_tokens":2}}""";
        using var upload = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(line + "\n")), "file", "input.jsonl" },
        };
        var file = await ReadJsonAsync(await http.PostAsync("v1/files", upload));
        var request = JsonSerializer.Serialize(new { input_file_id = file.GetProperty("id").GetString(), endpoint = "/v1/completions", completion_window = "24h" });
        return await ReadJsonAsync(await http.PostAsync("v1/batches", new StringContent(request, Encoding.UTF8, "application/json")));
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    internal static async Task WaitUntilHealthyAsync(HttpClient http, Task<(int Code, string Output, string Error)> serve)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(50))
        {
            if (serve.IsCompleted)
            {
                var (code, _, error) = await serve;
                Assert.Fail($"brim serve exited with {code}: {error}");
            }

            try
            {
                if ((await http.GetAsync("health")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
        }

        Assert.Fail("brim serve did not become healthy in 60 s");
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
