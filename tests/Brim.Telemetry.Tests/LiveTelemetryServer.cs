using System.Diagnostics;
using System.Net;
using Brim.Core;
using Brim.Engine;
using Brim.Server.Hosting;
using Brim.Telemetry.Exposition;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Brim.Telemetry.Tests;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (port chosen by the OS) hosting the telemetry endpoints over a real engine
/// running the bundled stories260K model, and a traffic generator that submits online and offline requests and
/// reports their latency as the server would.
/// </summary>
internal sealed class LiveTelemetryServer : IAsyncDisposable
{
    // A 2-core CI machine has no meaningful datasheet; these nominal ceilings make MFU/MBU drawable and are labelled.
    public const double TestPeakFlops = 50e9;
    public const double TestPeakBytes = 10e9;

    private readonly WebApplication _app;

    private LiveTelemetryServer(WebApplication app, ModelHost host, TelemetryHub hub, Uri address)
    {
        _app = app;
        Host = host;
        Hub = hub;
        Address = address;
    }

    public ModelHost Host { get; }

    public TelemetryHub Hub { get; }

    public Uri Address { get; }

    public static async Task<LiveTelemetryServer> StartAsync()
    {
        var host = ModelHost.Load(new ModelHostOptions
        {
            CpuThreads = 1,
            Engine = new EngineOptions { NumKvBlocks = 256, MaxRunningSequences = 8 },
        });
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Services.AddBrimTelemetry(new TelemetryOptions
            {
                Model = host.Config,
                DeviceName = host.Engine.DeviceName,
                PeakFlopsPerSecond = TestPeakFlops,
                PeakBytesPerSecond = TestPeakBytes,
                CeilingsSource = "configured: nominal test values",
            });
            var app = builder.Build();
            app.MapBrimTelemetry();
            await app.StartAsync();
            var hub = app.Services.GetRequiredService<TelemetryHub>();
            hub.Attach(host.Engine);
            host.Engine.Start();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return new LiveTelemetryServer(app, host, hub, address);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Keeps <paramref name="concurrency"/> requests in flight until cancelled, alternating traffic classes.</summary>
    public async Task RunTrafficAsync(int concurrency, CancellationToken cancellationToken)
    {
        var prompt = Host.Tokenizer.Encode("Once upon a time, there was a little girl named Lily.");
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            for (var n = 0; !cancellationToken.IsCancellationRequested; n++)
            {
                var trafficClass = worker % 3 == 0 ? TrafficClass.Offline : TrafficClass.Online;
                await GenerateOneAsync(prompt, $"w{worker}-{n}", trafficClass, 24 + ((n + worker) * 7 % 40), cancellationToken);
            }
        }, CancellationToken.None));
        try
        {
            await Task.WhenAll(workers);
        }
        catch (OperationCanceledException)
        {
            // Cancellation ends the traffic.
        }
    }

    private async Task GenerateOneAsync(int[] prompt, string id, TrafficClass trafficClass, int maxTokens, CancellationToken cancellationToken)
    {
        var request = new GenerationRequest
        {
            Id = new RequestId(id),
            PromptTokens = prompt,
            TrafficClass = trafficClass,
            Sampling = new SamplingParams { MaxTokens = maxTokens, Temperature = 0.8f, Seed = id.GetHashCode(StringComparison.Ordinal), IgnoreEos = true },
        };
        var start = Stopwatch.GetTimestamp();
        TimeSpan? ttft = null;
        var tokens = 0;
        await foreach (var update in Host.Engine.GenerateAsync(request, cancellationToken))
        {
            if (update.NewTokens.Count > 0)
            {
                ttft ??= Stopwatch.GetElapsedTime(start);
                tokens = update.CompletionTokenCount;
            }
        }

        var e2e = Stopwatch.GetElapsedTime(start);
        if (ttft is { } first && tokens > 0)
        {
            var tpot = tokens > 1 ? (e2e - first) / (tokens - 1) : TimeSpan.Zero;
            Hub.RecordRequest(trafficClass, first, tpot, e2e, tokens);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Host.Dispose();
    }
}
