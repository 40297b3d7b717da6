using System.Net.Http.Headers;
using Brim.Engine;
using Brim.Server.Hosting;

namespace Brim.Server.Tests;

/// <summary>
/// A real server on the bundled model (or <c>modelPath</c>) with options of the test's own, started and stopped by the
/// test: for what a shared fixture cannot do (a restart on the same data directory, a clock or API keys of its own).
/// </summary>
internal sealed class OwnedServer : IAsyncDisposable
{
    private OwnedServer(ModelHost host, BrimServer server)
    {
        Host = host;
        Server = server;
        Http = new HttpClient { BaseAddress = server.BaseAddress };
    }

    public ModelHost Host { get; }

    public BrimServer Server { get; }

    public Uri BaseAddress => Server.BaseAddress;

    /// <summary>A client without an API key (for /metrics).</summary>
    public HttpClient Http { get; }

    /// <summary>Starts on a loopback port of its own; <paramref name="engine"/> defaults to 256 blocks and 8 slots.</summary>
    public static async Task<OwnedServer> StartAsync(ServerOptions options, string? modelPath = null, EngineOptions? engine = null)
    {
        var host = ModelHost.Load(new ModelHostOptions
        {
            ModelPath = modelPath, Device = DeviceKind.Cpu, CpuThreads = 2, Engine = engine ?? new EngineOptions { NumKvBlocks = 256, MaxRunningSequences = 8 },
        });
        try
        {
            var server = BrimServer.Create(host, options with { Port = 0, MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Error });
            await server.StartAsync();
            return new OwnedServer(host, server);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public HttpClient CreateClient(string? apiKey = null)
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return http;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Host.Dispose();
    }
}
