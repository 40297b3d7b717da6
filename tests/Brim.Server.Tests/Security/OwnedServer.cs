using System.Net.Http.Headers;
using Brim.Engine;
using Brim.Server.Hosting;

namespace Brim.Server.Tests.Security;

/// <summary>A real server on the bundled model with options of the test's own, started and stopped by the test.</summary>
internal sealed class OwnedServer : IAsyncDisposable
{
    private OwnedServer(ModelHost host, BrimServer server)
    {
        Host = host;
        Server = server;
    }

    public ModelHost Host { get; }

    public BrimServer Server { get; }

    public Uri BaseAddress => Server.BaseAddress;

    public static async Task<OwnedServer> StartAsync(ServerOptions options, string? modelPath = null)
    {
        var host = ModelHost.Load(new ModelHostOptions
        {
            ModelPath = modelPath, Device = DeviceKind.Cpu, CpuThreads = 2, Engine = new EngineOptions { NumKvBlocks = 256, MaxRunningSequences = 8 },
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
        await Server.DisposeAsync();
        Host.Dispose();
    }
}
