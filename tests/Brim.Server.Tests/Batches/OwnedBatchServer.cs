using Brim.Engine;
using Brim.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Tests.Batches;

/// <summary>
/// A real server with the Files and Batch APIs on a data directory the test owns, started and stopped by the test
/// (for what a shared fixture cannot do: a restart on the same directory, a clock of its own).
/// </summary>
internal sealed class OwnedBatchServer : IAsyncDisposable
{
    private OwnedBatchServer(ModelHost host, BrimServer server)
    {
        Host = host;
        Server = server;
        Http = new HttpClient { BaseAddress = server.BaseAddress };
    }

    public ModelHost Host { get; }

    public BrimServer Server { get; }

    /// <summary>A client without an API key (for /metrics).</summary>
    public HttpClient Http { get; }

    public static async Task<OwnedBatchServer> StartAsync(string dataDirectory, string apiKey, TimeProvider? clock = null, int batchSlots = 8)
    {
        var host = ModelHost.Load(new ModelHostOptions
        {
            Device = DeviceKind.Cpu, CpuThreads = 2, Engine = new EngineOptions { NumKvBlocks = 1024, MaxRunningSequences = batchSlots },
        });
        var server = BrimServer.Create(host, new ServerOptions
        {
            Port = 0, ApiKeys = [apiKey], DataDirectory = dataDirectory, TimeProvider = clock ?? TimeProvider.System,
            MinimumLogLevel = LogLevel.Error, DrainTimeout = TimeSpan.FromSeconds(10),
        });
        await server.StartAsync();
        return new OwnedBatchServer(host, server);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Host.Dispose();
    }
}
