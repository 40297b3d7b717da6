using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using Brim.Engine;
using Brim.Server.Hosting;
using Brim.Server.Observability;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Tests.Observability;

/// <summary>The "Brim" meter counts what a real server generated, as dotnet-counters would read it.</summary>
public class BrimMeterTests
{
    [Fact]
    public async Task ChatCompletion_Served_CountsOneRequestAndItsTokens()
    {
        using var host = ModelHost.Load(new ModelHostOptions { Device = DeviceKind.Cpu, CpuThreads = 1, Engine = new EngineOptions { NumKvBlocks = 64 } });
        await using var server = BrimServer.Create(host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning });
        await server.StartAsync();
        long requests = 0, tokens = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, server.Meter.Source))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "brim.requests")
            {
                Interlocked.Add(ref requests, value);
            }
            else if (instrument.Name == "brim.output_tokens")
            {
                Interlocked.Add(ref tokens, value);
            }
        });
        listener.Start();

        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var reply = await http.PostAsJsonAsync("v1/completions", new { model = "stories260K", prompt = "Once", max_tokens = 5, ignore_eos = true });

        Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
        Assert.Equal(BrimMeter.Name, server.Meter.Source.Name);
        Assert.Equal(1, Interlocked.Read(ref requests));
        Assert.Equal(5, Interlocked.Read(ref tokens));
    }
}
