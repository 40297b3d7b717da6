using System.ClientModel;
using Brim.Engine;
using Brim.Models;
using Brim.Server.Hosting;
using Brim.Server.Routing;
using Brim.Tests;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace Brim.Server.Tests.Routing;

/// <summary>
/// A real Kestrel server of two models on the CPU: the bundled stories260K served as <see cref="Small"/>, and a model of
/// about 1.2 M parameters with seeded random weights (bench/configs/stories-1m, the bundled tokenizer) served as
/// <see cref="Large"/>. Subclasses add a router. No API key: these tests are about models, not security.
/// </summary>
public class TwoModelFixture : IAsyncLifetime
{
    public const string Small = "small";
    public const string Large = "large";

    /// <summary>The device's price, so /v1/stats prices each model's device time (the CPU has no catalog price).</summary>
    public const double HourlyCost = 3.6;

    public IReadOnlyList<ModelHost> Hosts { get; private set; } = [];

    public BrimServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    protected virtual RouterConfig? Router => null;

    /// <summary>The server's options (subclasses add a data directory for the Batch API).</summary>
    protected virtual ServerOptions Options => ServerOptions(Router);

    public static EngineOptions EngineOptions => new() { NumKvBlocks = 512, MaxRunningSequences = 32, MaxWaitingRequests = 512 };

    /// <summary>The options each model loads with; a single-model server of the same options answers the same.</summary>
    /// <remarks>The small model's context is cut to 256 positions, so a long prompt fits only the large one (512).</remarks>
    public static ModelHostOptions SmallOptions => new()
    {
        Device = DeviceKind.Cpu, CpuThreads = 1, ServedModelName = Small, Engine = EngineOptions with { MaxModelLength = SmallContext },
    };

    public const int SmallContext = 256;

    public static ModelHostOptions LargeOptions => new()
    {
        Device = DeviceKind.Cpu,
        CpuThreads = 1,
        ServedModelName = Large,
        ModelPath = Path.Combine(RepoPaths.Root, "bench", "configs", "stories-1m"),
        LoadFormat = LoadFormat.Dummy,
        DummySeed = 7,
        TokenizerPath = Path.Combine(RepoPaths.BundledModel, "tok512.bin"),
        Engine = EngineOptions,
    };

    public static ServerOptions ServerOptions(RouterConfig? router = null) => new()
    {
        Port = 0,
        MinimumLogLevel = LogLevel.Warning,
        DrainTimeout = TimeSpan.FromSeconds(10),
        MeasureCeilings = false,
        GpuHourlyCost = HourlyCost,
        Router = router,
    };

    public async Task InitializeAsync()
    {
        Hosts = [ModelHost.Load(SmallOptions), ModelHost.Load(LargeOptions)];
        Server = BrimServer.Create(Hosts, Options);
        await Server.StartAsync();
        Http = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
    }

    public OpenAIClient CreateOpenAIClient() =>
        new(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromSeconds(120) });

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        foreach (var host in Hosts)
        {
            host.Dispose();
        }
    }

    /// <summary>A server of one model, for comparing outputs; dispose it and the host.</summary>
    public static async Task<(BrimServer Server, ModelHost Host)> StartSingleAsync(ModelHostOptions options)
    {
        var host = ModelHost.Load(options);
        var server = BrimServer.Create(host, ServerOptions());
        await server.StartAsync();
        return (server, host);
    }

    public static OpenAIClient ClientFor(BrimServer server) =>
        new(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromSeconds(120) });
}
