using Brim.Telemetry.Exposition;

namespace Brim.Server.Metrics;

/// <summary>
/// The text of /metrics: the server's and engine's families, then those of every <see cref="IPrometheusSource"/> the
/// server registered (the Batch API's when it runs, the default model's telemetry hub's), all through
/// <see cref="PrometheusText"/>; every sample carries a model's name as <c>model_name</c>: the per-engine families one
/// sample set per served model, the rest the default model's.
/// </summary>
internal sealed class MetricsExposition(ServerContext server, ServedModels models, IEnumerable<IPrometheusSource> sources)
{
    private readonly IPrometheusSource[] _sources = [.. sources];

    public string Write()
    {
        // The per-engine families carry each model's name in their samples; the sources after them are the default model's.
        var perModel = new PrometheusText();
        ServerFamilies.Write(perModel, [.. server.Models.Select(m => new ModelSeries(m.ModelName, m.Metrics, m.Engine.Snapshot()))], server.Router?.Metrics);
        if (server.Models.Count > 1)
        {
            ModelCostFamilies.Write(perModel, models.Rows(models.Hubs[0].Snapshot()));
        }

        var text = new PrometheusText(("model_name", server.ModelName));
        foreach (var source in _sources)
        {
            source.WriteTo(text);
        }

        return perModel.ToString() + text.ToString();
    }
}
