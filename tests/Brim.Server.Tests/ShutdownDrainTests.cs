using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Brim.Engine;
using Brim.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Tests;

/// <summary>
/// Shutdown drains: /ready answers 503 and new requests are refused while open requests run on; when the drain timeout
/// passes, an open stream ends with an in-band error event and [DONE] rather than a reset connection.
/// </summary>
public sealed class ShutdownDrainTests : IAsyncLifetime
{
    // Random weights of a shape slow enough on the CPU (milliseconds per token) that a stream outlasts the drain.
    private const string SlowModelConfig = """
        {
          "architectures": ["LlamaForCausalLM"], "hidden_size": 1024, "intermediate_size": 2816, "num_hidden_layers": 4,
          "num_attention_heads": 8, "num_key_value_heads": 8, "vocab_size": 4096, "max_position_embeddings": 4096,
          "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": true, "torch_dtype": "float32",
          "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu"
        }
        """;

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(3);

    private readonly string _modelDir = Path.Combine(Path.GetTempPath(), "brim-drain-" + Guid.NewGuid().ToString("N"));
    private ModelHost _host = null!;
    private BrimServer _server = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_modelDir);
        await File.WriteAllTextAsync(Path.Combine(_modelDir, "config.json"), SlowModelConfig);
        _host = ModelHost.Load(new ModelHostOptions
        {
            ModelPath = _modelDir,
            LoadFormat = Brim.Models.LoadFormat.Dummy,
            Device = DeviceKind.Cpu,
            CpuThreads = 2,
            Engine = new EngineOptions { NumKvBlocks = 256 },
        });
        _server = BrimServer.Create(_host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning, DrainTimeout = DrainTimeout });
        await _server.StartAsync();
    }

    [Fact]
    public async Task StopAsync_StreamOutlastsTheDrain_ReadyIs503ThenStreamEndsWithErrorEventAndDone()
    {
        using var http = new HttpClient { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        var body = JsonSerializer.Serialize(new { prompt = new[] { 1, 5, 9 }, max_tokens = 4000, ignore_eos = true, temperature = 0, stream = true });
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: {", await reader.ReadLineAsync(), StringComparison.Ordinal);
        Assert.Equal("ready", await http.GetStringAsync("ready"));

        var clock = Stopwatch.StartNew();
        var stopping = _server.StopAsync();

        // While draining the server still listens: not ready, and no new work.
        using var probe = new HttpClient { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var ready = await probe.GetAsync("ready");
        Assert.Equal(503, (int)ready.StatusCode);
        var (status, refused) = await HttpJson.PostAsync(probe, "v1/completions", new { prompt = new[] { 1 }, max_tokens = 1 });
        Assert.Equal(503, status);
        Assert.Equal("server_shutting_down", (string?)refused!["error"]!["code"]);
        Assert.True(clock.Elapsed < DrainTimeout, $"the probes took {clock.Elapsed}, past the drain timeout: the test proves nothing");

        var events = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length > 0)
            {
                events.Add(line);
            }
        }

        await stopping;
        // The drain's timer may fire a fraction of a millisecond before this stopwatch says the timeout has passed.
        Assert.True(clock.Elapsed >= DrainTimeout - TimeSpan.FromMilliseconds(50), $"stopped after {clock.Elapsed}, before the drain timeout");
        Assert.Equal("data: [DONE]", events[^1]);
        var error = JsonNode.Parse(events[^2]["data: ".Length..])!["error"]!;
        Assert.Equal("server_shutting_down", (string?)error["code"]);
        Assert.Equal("server_error", (string?)error["type"]);
        Assert.DoesNotContain(events[..^2], e => e.Contains("\"finish_reason\":\"length\"", StringComparison.Ordinal));

        // The ended stream's sequence was cancelled, not left running: its KV blocks come back.
        var deadline = Stopwatch.StartNew();
        while (_host.Engine.Snapshot().Running > 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, _host.Engine.Snapshot().Running);
    }

    [Fact]
    public async Task StopAsync_PlainRequestOutlastsTheDrain_Gets503ShuttingDown()
    {
        using var http = new HttpClient { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        var pending = HttpJson.PostAsync(http, "v1/completions", new { prompt = new[] { 1, 5, 9 }, max_tokens = 4000, ignore_eos = true, temperature = 0 });
        var deadline = Stopwatch.StartNew();
        while (_host.Engine.Snapshot().Running == 0 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10);
        }

        var clock = Stopwatch.StartNew();
        await _server.StopAsync();
        var (status, body) = await pending;

        // The drain's timer may fire a fraction of a millisecond before this stopwatch says the timeout has passed.
        Assert.True(clock.Elapsed >= DrainTimeout - TimeSpan.FromMilliseconds(50), $"stopped after {clock.Elapsed}, before the drain timeout");
        Assert.Equal(503, status);
        Assert.Equal("server_shutting_down", (string?)body!["error"]!["code"]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _host.Dispose();
        Directory.Delete(_modelDir, recursive: true);
    }
}
