using System.Diagnostics;
using Brim.Core;

namespace Brim.Server.Metrics;

/// <summary>
/// Request-level metrics the server records, one <see cref="TrafficClassMetrics"/> per traffic class; engine gauges
/// (running, waiting, KV usage, preemptions) are read from the engine's snapshot at scrape time. Names and buckets
/// follow vLLM's so dashboards carry over. Online HTTP requests, flex/priority requests and Batch API lines all finish
/// through <see cref="Generation.GenerationRun"/>, which records here, so every class is counted the same way.
/// </summary>
public sealed class ServerMetrics(IEnumerable<IGenerationObserver> observers)
{
    private readonly TrafficClassMetrics[] _classes = [new(TrafficClass.Online), new(TrafficClass.Offline)];
    private readonly IGenerationObserver[] _observers = [.. observers];

    /// <summary>The classes in label order (online, offline).</summary>
    public IReadOnlyList<TrafficClassMetrics> Classes => _classes;

    public TrafficClassMetrics For(TrafficClass trafficClass) => _classes[(int)trafficClass];

    /// <summary>Records one engine request's end: its tokens, why it finished and how long it took since arrival.</summary>
    public void RequestFinished(TrafficClass trafficClass, int promptTokens, int generatedTokens, FinishReason reason, long arrivalTimestamp)
    {
        var metrics = For(trafficClass);
        metrics.AddFinished(promptTokens, generatedTokens, reason);
        metrics.EndToEndLatency.Observe(Stopwatch.GetElapsedTime(arrivalTimestamp).TotalSeconds);
    }

    /// <summary>Tells every observer of a generation that finished normally.</summary>
    public void GenerationCompleted(CompletedGeneration generation)
    {
        foreach (var observer in _observers)
        {
            observer.GenerationCompleted(generation);
        }
    }
}
