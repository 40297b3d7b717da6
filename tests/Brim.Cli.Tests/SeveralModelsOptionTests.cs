using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Brim.Tests;

namespace Brim.Cli.Tests;

/// <summary>`brim serve --model NAME=PATH` repeated, --model-memory-share, --model-gpu-priority and --router-config, and the mistakes they refuse.</summary>
[Collection(ConsoleCollection.Name)]
public class SeveralModelsOptionTests
{
    private static string Bundled => RepoPaths.BundledModel;

    [Fact]
    public async Task Serve_TwoModelsAndRouter_ListsThemAndStatesEachShare()
    {
        var port = SwapAndBatchWindowOptionsTests.FreePort();
        var data = Directory.CreateTempSubdirectory("brim-cli-models-");
        var router = Path.Combine(data.FullName, "router.json");
        await File.WriteAllTextAsync(router, """{"default": "a", "rules": [{"name": "flex", "model": "b", "when": {"service_tier": "flex"}}]}""");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var serve = CommandLine.RunAsync(
            stop.Token, "serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--device", "cpu", "--threads", "1", "--num-kv-blocks", "64",
            "--data-dir", data.FullName, "--drain-timeout", "1", "--model", $"a={Bundled}", "--model", $"b={Bundled}",
            "--model-memory-share", "0.25", "--model-memory-share", "0.75", "--router-config", router);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            await SwapAndBatchWindowOptionsTests.WaitUntilHealthyAsync(http, serve);
            var models = await http.GetFromJsonAsync<JsonElement>("v1/models");
            Assert.Equal(["a", "b", "auto"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));

            using var reply = await http.PostAsJsonAsync("v1/completions", new { model = "auto", prompt = "Once", max_tokens = 2, service_tier = "flex" });
            var body = await reply.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("b", body.GetProperty("model").GetString());
        }
        finally
        {
            await stop.CancelAsync();
        }

        var (code, _, error) = await serve;
        Assert.True(code == 0, error);
        Assert.Contains("serving 'a'", error, StringComparison.Ordinal);
        Assert.Contains("25 % of the memory budget", error, StringComparison.Ordinal);
        Assert.Contains("75 % of the memory budget", error, StringComparison.Ordinal);
        Assert.Contains("model 'auto' is routed: rule 'flex' to b; the rest to a", error, StringComparison.Ordinal);
        data.Delete(recursive: true);
    }

    [Theory]
    [InlineData("--served-model-name names one model", "--model", "a=/nowhere/x", "--model", "b=/nowhere/y", "--served-model-name", "c")]
    [InlineData("give one --model-memory-share per --model (2)", "--model", "a=/nowhere/x", "--model", "b=/nowhere/y", "--model-memory-share", "0.5")]
    [InlineData("the memory shares add up to 1.2, more than 1", "--model", "a=/nowhere/x", "--model", "b=/nowhere/y", "--model-memory-share", "0.6", "--model-memory-share", "0.6")]
    [InlineData("--model-memory-share splits the memory among several --model", "--model", "/nowhere/x", "--model-memory-share", "0.5")]
    [InlineData("--model-memory-share must be in (0, 1]; got '1.5'", "--model", "a=/nowhere/x", "--model", "b=/nowhere/y", "--model-memory-share", "1.5", "--model-memory-share", "0.1")]
    [InlineData("--model-gpu-priority takes high or normal; got 'fast'", "--model", "a=/nowhere/x", "--model", "b=/nowhere/y", "--model-gpu-priority", "fast", "--model-gpu-priority", "normal")]
    [InlineData("give one --model-gpu-priority per --model (2), or none", "--model", "a=/nowhere/x", "--model", "b=/nowhere/y", "--model-gpu-priority", "high")]
    [InlineData("--model-gpu-priority orders several --model on one GPU", "--model", "/nowhere/x", "--model-gpu-priority", "high")]
    public async Task Serve_BadModelList_ExitsTwoBeforeLoading(string message, params string[] args)
    {
        var (code, _, error) = await CommandLine.RunAsync(["serve", "--port", "0", .. args]);

        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("nowhere", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_HighGpuPriorityOnTheCpu_RefusedByNameWithoutAStackTrace()
    {
        var (code, _, error) = await CommandLine.RunAsync(
            "serve", "--port", "0", "--device", "cpu", "--threads", "1", "--num-kv-blocks", "16", "--model", $"a={Bundled}", "--model", $"b={Bundled}",
            "--model-gpu-priority", "normal", "--model-gpu-priority", "high");

        Assert.NotEqual(0, code);
        Assert.Contains("--model-gpu-priority high orders work on a shared GPU; this model runs on the CPU", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_RouterConfigUnknownKey_ExitsTwoNamingIt()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, """{"default": "a", "cascade": {"small": "a", "large": "b", "threshold": -1, "budget": 3}}""");
        try
        {
            var (code, _, error) = await CommandLine.RunAsync("serve", "--port", "0", "--model", "a=/nowhere/x", "--router-config", file);
            Assert.Equal(2, code);
            Assert.Contains("unknown key 'cascade.budget'", error, StringComparison.Ordinal);
            Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Generate_TwoModels_ExitsTwo_OnlyServeServesSeveral()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "hi", "--model", "/nowhere/x", "--model", "/nowhere/y");

        Assert.Equal(2, code);
        Assert.Contains("--model is given 2 times; only `brim serve` serves several models", error, StringComparison.Ordinal);
    }
}
