using System.Diagnostics;
using Brim.Core;
using Brim.Telemetry.Exposition;

namespace Brim.Server.Metrics;

/// <summary>
/// Request-level metrics the server records, one <see cref="TrafficClassMetrics"/> per traffic class; engine gauges
/// (running, waiting, KV usage, preemptions) are read from the engine's snapshot at scrape time. Names and buckets
/// follow vLLM's so dashboards carry over. Online HTTP requests, flex/priority requests and Batch API lines all finish
/// through <see cref="Generation.GenerationRun"/>, which records here, so every class is counted the same way.
/// </summary>
public sealed class ServerMetrics
{
    private readonly TrafficClassMetrics[] _classes = [new(TrafficClass.Online), new(TrafficClass.Offline)];

    /// <summary>Writes the metrics of an optional feature (the Batch API) after the server's own; given the model label.</summary>
    public Action<PrometheusText>? AppendFeatureMetrics { get; set; }

    /// <summary>The classes in label order (online, offline).</summary>
    public IReadOnlyList<TrafficClassMetrics> Classes => _classes;

    /// <summary>
    /// Called when a request finishes normally, with its traffic class, time to first token, time per output token,
    /// end-to-end latency and output tokens (the dashboard's per-class latency).
    /// </summary>
    public Action<TrafficClass, TimeSpan, TimeSpan, TimeSpan, int>? Completed { get; set; }

    public TrafficClassMetrics For(TrafficClass trafficClass) => _classes[(int)trafficClass];

    /// <summary>Records one engine request's end: its tokens, why it finished and how long it took since arrival.</summary>
    public void RequestFinished(TrafficClass trafficClass, int promptTokens, int generatedTokens, FinishReason reason, long arrivalTimestamp)
    {
        var metrics = For(trafficClass);
        metrics.AddFinished(promptTokens, generatedTokens, reason);
        metrics.EndToEndLatency.Observe(Stopwatch.GetElapsedTime(arrivalTimestamp).TotalSeconds);
    }
}
