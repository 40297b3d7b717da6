using Brim.Server.Hosting;
using Brim.Server.Metrics;
using Brim.Server.Routing;
using Brim.Telemetry;
using Brim.Telemetry.Exposition;
using Microsoft.Extensions.DependencyInjection;

namespace Brim.Server;

/// <summary>
/// The server's per-model parts: for each served model its request-level metrics and its telemetry hub (step costs,
/// MFU/MBU, cost per 1M tokens of that engine alone), and the <see cref="ServerContext"/> views over them. The default
/// model's hub is the one registered in the services (the dashboard's); the others are made here, without NVML (the
/// default's hub samples the one device) and with the default's measured ceilings (it is the same device), and disposed
/// with the server's services.
/// </summary>
internal sealed class ServedModels : IDisposable
{
    private readonly List<TelemetryHub> _ownHubs = [];

    private ServedModels(ServerContext context, IReadOnlyList<TelemetryHub> hubs)
    {
        Context = context;
        Hubs = hubs;
    }

    /// <summary>The default model's view.</summary>
    public ServerContext Context { get; }

    /// <summary>One hub per model, in the order of <see cref="ServerContext.Models"/>.</summary>
    public IReadOnlyList<TelemetryHub> Hubs { get; }

    public static ServedModels Create(IReadOnlyList<ModelHost> hosts, ServerOptions options, IServiceProvider services)
    {
        var observers = services.GetServices<IGenerationObserver>().ToArray();
        var defaultHub = services.GetRequiredService<TelemetryHub>();
        var hubs = new List<TelemetryHub> { defaultHub };
        var own = new List<TelemetryHub>();
        try
        {
            foreach (var host in hosts.Skip(1))
            {
                var hub = TelemetryHub.Create(TelemetrySetup.OptionsOnSameDevice(host, options, defaultHub));
                own.Add(hub);
                hubs.Add(hub);
            }

            // Each model's finished requests feed its own hub (the dashboard's latency is the default model's).
            var models = hosts.Select((h, i) => (h, new ServerMetrics([.. observers, new TelemetryObserver(hubs[i])]))).ToList();
            var router = options.Router is { } config ? new ModelRouter(config) : null;
            var served = new ServedModels(ServerContext.Create(models, options, router), hubs);
            served._ownHubs.AddRange(own);
            return served;
        }
        catch
        {
            own.ForEach(h => h.Dispose());
            throw;
        }
    }

    /// <summary>
    /// A /v1/stats snapshot of the default model completed with a row per model, one for all of them, and the router's
    /// counts; unchanged for a server of one model without a router.
    /// </summary>
    public TelemetrySnapshot Complete(TelemetrySnapshot snapshot)
    {
        var models = Context.Models;
        if (models.Count == 1 && Context.Router is null)
        {
            return snapshot;
        }

        return snapshot with { Models = Rows(snapshot), Router = Context.Router is { } router ? router.Metrics.Stats(router.Alias) : null };
    }

    /// <summary>A row per model and one for all of them; <paramref name="defaultSnapshot"/> is the default hub's, taken now.</summary>
    public IReadOnlyList<ServedModelStats> Rows(TelemetrySnapshot defaultSnapshot)
    {
        var models = Context.Models;
        var rows = new List<ServedModelStats>(models.Count + 1) { ServedModelStats.From(models[0].ModelName, defaultSnapshot) };
        for (var i = 1; i < models.Count; i++)
        {
            rows.Add(ServedModelStats.From(models[i].ModelName, Hubs[i].Snapshot()));
        }

        rows.Add(ServedModelStats.Combined(rows, defaultSnapshot.Device.CostPerSecond));
        return rows;
    }

    /// <summary>Subscribes each model's hub to its engine's steps.</summary>
    public void AttachTelemetry()
    {
        for (var i = 0; i < Hubs.Count; i++)
        {
            Hubs[i].Attach(Context.Models[i].Engine);
        }
    }

    public void Dispose()
    {
        foreach (var hub in _ownHubs)
        {
            hub.Dispose();
        }
    }
}
