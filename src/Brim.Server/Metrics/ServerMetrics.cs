using System.Diagnostics;
using System.Text;
using Brim.Core;

namespace Brim.Server.Metrics;

/// <summary>
/// Request-level metrics the server records; engine gauges (running, waiting, KV usage, preemptions) are read from
/// the engine's snapshot at scrape time. Names and buckets follow vLLM's so dashboards carry over.
/// </summary>
public sealed class ServerMetrics
{
    private long _promptTokens;
    private long _generationTokens;
    private readonly long[] _finished = new long[Enum.GetValues<FinishReason>().Length];

    /// <summary>Writes the metrics of an optional feature (the Batch API) after the server's own; given the model label.</summary>
    public Action<StringBuilder, string>? AppendFeatureMetrics { get; set; }

    public Histogram TimeToFirstToken { get; } = new(
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560);

    public Histogram InterTokenLatency { get; } = new(
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80);

    public Histogram EndToEndLatency { get; } = new(
        0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public long GenerationTokens => Interlocked.Read(ref _generationTokens);

    public long Finished(FinishReason reason) => Interlocked.Read(ref _finished[(int)reason]);

    /// <summary>
    /// Called when a request finishes normally, with its traffic class, time to first token, time per output token,
    /// end-to-end latency and output tokens (the dashboard's per-class latency).
    /// </summary>
    public Action<TrafficClass, TimeSpan, TimeSpan, TimeSpan, int>? Completed { get; set; }

    /// <summary>Records one engine request's end: its tokens, why it finished and how long it took since arrival.</summary>
    public void RequestFinished(int promptTokens, int generatedTokens, FinishReason reason, long arrivalTimestamp)
    {
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _generationTokens, generatedTokens);
        Interlocked.Increment(ref _finished[(int)reason]);
        EndToEndLatency.Observe(Stopwatch.GetElapsedTime(arrivalTimestamp).TotalSeconds);
    }
}
