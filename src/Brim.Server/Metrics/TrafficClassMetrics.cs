using Brim.Core;

namespace Brim.Server.Metrics;

/// <summary>
/// The request-level counters and latency histograms of one traffic class. Every request-level family on /metrics
/// carries a <c>traffic_class</c> label, so <c>sum by (traffic_class) (rate(brim:generation_tokens_total[1m]))</c>
/// is tokens/s per class and the histograms give per-class TTFT/TPOT quantiles through <c>histogram_quantile</c>.
/// Updates are interlocked adds: request threads record without a lock.
/// </summary>
public sealed class TrafficClassMetrics
{
    private static readonly double[] LatencyBuckets =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];

    // Per-token times: sub-millisecond on a GPU, so the buckets start lower than vLLM's 10 ms.
    private static readonly double[] TokenBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

    private static readonly double[] RequestBuckets =
        [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

    private readonly long[] _finished = new long[Enum.GetValues<FinishReason>().Length];
    private long _promptTokens;
    private long _generationTokens;

    public TrafficClassMetrics(TrafficClass trafficClass)
    {
        TrafficClass = trafficClass;
    }

    public TrafficClass TrafficClass { get; }

    /// <summary>The label value: "online" or "offline".</summary>
    public string Label => TrafficClass == TrafficClass.Online ? "online" : "offline";

    /// <summary>Time from arrival to the first output token.</summary>
    public Histogram TimeToFirstToken { get; } = new(LatencyBuckets);

    /// <summary>Time between consecutive output tokens of a request (one observation per token after the first).</summary>
    public Histogram InterTokenLatency { get; } = new(TokenBuckets);

    /// <summary>A finished request's mean time per output token after the first (one observation per request).</summary>
    public Histogram TimePerOutputToken { get; } = new(TokenBuckets);

    /// <summary>Time from arrival to the request's end.</summary>
    public Histogram EndToEndLatency { get; } = new(RequestBuckets);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public long GenerationTokens => Interlocked.Read(ref _generationTokens);

    public long Finished(FinishReason reason) => Interlocked.Read(ref _finished[(int)reason]);

    internal void AddFinished(int promptTokens, int generatedTokens, FinishReason reason)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(generatedTokens);
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _generationTokens, generatedTokens);
        Interlocked.Increment(ref _finished[(int)reason]);
    }
}
