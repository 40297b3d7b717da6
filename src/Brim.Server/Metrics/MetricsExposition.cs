using Brim.Telemetry.Exposition;

namespace Brim.Server.Metrics;

/// <summary>
/// The text of /metrics: the server's and engine's families, then those of every <see cref="IPrometheusSource"/> the
/// server registered (the Batch API's when it runs, the telemetry hub's), all through one <see cref="PrometheusText"/>
/// whose every sample carries the served model's name.
/// </summary>
internal sealed class MetricsExposition(ServerContext server, IEnumerable<IPrometheusSource> sources)
{
    private readonly IPrometheusSource[] _sources = [.. sources];

    public string Write()
    {
        var text = new PrometheusText(("model_name", server.ModelName));
        ServerFamilies.Write(text, server.Metrics, server.Engine.Snapshot());
        foreach (var source in _sources)
        {
            source.WriteTo(text);
        }

        return text.ToString();
    }
}
