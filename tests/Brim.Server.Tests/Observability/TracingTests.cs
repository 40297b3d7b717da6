using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Brim.Engine;
using Brim.Server.Hosting;
using Brim.Server.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Brim.Server.Tests.Observability;

/// <summary>
/// OpenTelemetry traces through a real Kestrel server: with tracing on, a chat completion is an HTTP server span with
/// the generation's span under it, tagged as the response's usage counts; with it off (the default) Brim registers no
/// tracer and nothing listens to its activity source.
/// </summary>
[Collection(TracingCollection.Name)]
public class TracingTests
{
    private static readonly TimeSpan ExportWait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ChatCompletion_TracingOn_ExportsGenerationSpanUnderTheRequestSpan()
    {
        var spans = new List<Activity>();
        using var host = LoadHost();
        var tracing = new TraceExport { ServiceName = "brim-under-test", Configure = t => t.AddInMemoryExporter(spans) };
        await using var server = BrimServer.Create(host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning, Tracing = tracing });
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using var reply = await http.PostAsJsonAsync("v1/chat/completions", new
        {
            model = "stories260K", messages = new[] { new { role = "user", content = "Once" } }, max_tokens = 5, ignore_eos = true,
        });
        var body = await reply.Content.ReadAsStringAsync();
        Assert.True(reply.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        var id = json.RootElement.GetProperty("id").GetString();
        var usage = json.RootElement.GetProperty("usage");

        // The request's span ends after its response is written: wait for the exporter to have both.
        var (generation, request) = await WaitForSpansAsync(spans, id);

        Assert.Equal("chat stories260K", generation.DisplayName);
        Assert.Equal(request.TraceId, generation.TraceId);
        Assert.Equal(ActivityKind.Server, request.Kind);
        Assert.Equal("/v1/chat/completions", request.GetTagItem("url.path"));
        Assert.Equal("stories260K", generation.GetTagItem("gen_ai.request.model"));
        Assert.Equal("online", generation.GetTagItem("brim.traffic_class"));
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), generation.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(5, generation.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32(), generation.GetTagItem("gen_ai.usage.cache_read.input_tokens"));
        Assert.Equal(["length"], (string[])generation.GetTagItem("gen_ai.response.finish_reasons")!);
        var ttft = Assert.IsType<double>(generation.GetTagItem("brim.time_to_first_token"));
        // Counted from the request's arrival, which the request span covers (the generation span starts after parsing).
        Assert.InRange(ttft, double.Epsilon, request.Duration.TotalSeconds);
        var resource = server.Services.GetRequiredService<TracerProvider>().GetResource();
        Assert.Contains(resource.Attributes, a => a.Key == "service.name" && (string)a.Value == "brim-under-test");
    }

    [Fact]
    public async Task ChatCompletion_TracingOff_RegistersNoTracerAndNothingListens()
    {
        using var host = LoadHost();
        await using var server = BrimServer.Create(host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning });
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using var reply = await http.PostAsJsonAsync("v1/chat/completions", new
        {
            model = "stories260K", messages = new[] { new { role = "user", content = "Once" } }, max_tokens = 3,
        });

        Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
        Assert.Null(server.Services.GetService<TracerProvider>());
        Assert.False(BrimTracing.Source.HasListeners());
    }

    private static ModelHost LoadHost() =>
        ModelHost.Load(new ModelHostOptions { Device = DeviceKind.Cpu, CpuThreads = 1, Engine = new EngineOptions { NumKvBlocks = 64 } });

    private static async Task<(Activity Generation, Activity Request)> WaitForSpansAsync(List<Activity> spans, string? responseId)
    {
        var deadline = Stopwatch.StartNew();
        Activity[] seen = [];
        while (true)
        {
            // The exporter adds from its own thread without a lock the test could take: read a copy, and read again after a
            // copy that raced an add (a torn read throws or leaves an empty slot).
            try
            {
                seen = [.. spans.ToArray().Where(s => s is not null)];
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                await Task.Delay(10);
                continue;
            }

            var generation = seen.SingleOrDefault(s => s.Source.Name == BrimTracing.SourceName && (string?)s.GetTagItem("gen_ai.response.id") == responseId);
            var request = generation is null ? null : seen.SingleOrDefault(s => s.SpanId == generation.ParentSpanId);
            if (generation is not null && request is not null)
            {
                return (generation, request);
            }

            if (deadline.Elapsed >= ExportWait)
            {
                Assert.Fail($"the generation span and its parent were not exported within {ExportWait.TotalSeconds} s; got: {string.Join(", ", seen.Select(s => s.DisplayName))}");
            }

            await Task.Delay(50);
        }
    }
}
