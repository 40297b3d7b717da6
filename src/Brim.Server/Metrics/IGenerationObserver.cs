using Brim.Core;

namespace Brim.Server.Metrics;

/// <summary>One generation (one choice) that finished normally, with its timings since the request arrived.</summary>
public readonly record struct CompletedGeneration(
    TrafficClass TrafficClass, TimeSpan TimeToFirstToken, TimeSpan TimePerOutputToken, TimeSpan EndToEndLatency, int OutputTokens);

/// <summary>
/// Told of every generation that finished normally, beside the Prometheus histograms <see cref="ServerMetrics"/> keeps:
/// the dashboard's per-class latency, the access line and the "Brim" meter. Registered in the server's services and
/// handed to <see cref="ServerMetrics"/> at construction; called on the request's own flow (the access line relies on it).
/// </summary>
public interface IGenerationObserver
{
    void GenerationCompleted(CompletedGeneration generation);
}
