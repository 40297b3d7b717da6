using System.ClientModel;
using System.Net.Http.Headers;
using Brim.Engine;
using Brim.Server.Hosting;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace Brim.Server.Tests;

/// <summary>
/// A real Kestrel server on 127.0.0.1 with a free port, serving the bundled stories260K on the CPU, shared by the
/// tests of one class. It requires <see cref="ApiKey"/> on every route but the public ones (health, ready, metrics,
/// dashboard), which the SDK clients send.
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    public const string ApiKey = "test-key-1";
    public const string ModelName = "stories260K";

    public ModelHost Host { get; private set; } = null!;

    public BrimServer Server { get; private set; } = null!;

    /// <summary>An HttpClient on the server's base address carrying the API key.</summary>
    public HttpClient Http { get; private set; } = null!;

    public Uri BaseAddress => Server.BaseAddress;

    protected virtual EngineOptions EngineOptions => new() { NumKvBlocks = 1024, MaxRunningSequences = 64, MaxWaitingRequests = 512 };

    protected virtual ServerOptions ServerOptions => new()
    {
        Port = 0,
        ApiKeys = [ApiKey, "test-key-2"],
        MinimumLogLevel = LogLevel.Warning,
        DrainTimeout = TimeSpan.FromSeconds(10),
    };

    public async Task InitializeAsync()
    {
        Host = ModelHost.Load(new ModelHostOptions { Device = DeviceKind.Cpu, CpuThreads = 2, Engine = EngineOptions });
        Server = BrimServer.Create(Host, ServerOptions);
        await Server.StartAsync();
        Http = CreateHttpClient(ApiKey);
    }

    public HttpClient CreateHttpClient(string? apiKey)
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return http;
    }

    public OpenAIClient CreateOpenAIClient() =>
        new(new ApiKeyCredential(ApiKey), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "v1") });

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Host.Dispose();
    }
}
