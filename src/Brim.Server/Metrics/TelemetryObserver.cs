using Brim.Telemetry;

namespace Brim.Server.Metrics;

/// <summary>Feeds finished generations to the telemetry hub (the dashboard's and /v1/stats' per-class latency).</summary>
internal sealed class TelemetryObserver(TelemetryHub hub) : IGenerationObserver
{
    public void GenerationCompleted(CompletedGeneration g) =>
        hub.RecordRequest(g.TrafficClass, g.TimeToFirstToken, g.TimePerOutputToken, g.EndToEndLatency, g.OutputTokens);
}
