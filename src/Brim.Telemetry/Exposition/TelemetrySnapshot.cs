using Brim.Telemetry.Devices;
using Brim.Telemetry.Nvml;
using Brim.Telemetry.Recording;

namespace Brim.Telemetry.Exposition;

/// <summary>Everything telemetry knows at one instant: what GET /v1/stats returns and what /metrics is written from.</summary>
public sealed record TelemetrySnapshot(
    DateTimeOffset At,
    double UptimeSeconds,
    ModelSummary Model,
    DeviceProfile Device,
    GpuCounters Gpu,
    StepMetrics? LastStep,
    TelemetryTotals Totals,
    IReadOnlyList<WindowStats> Windows,
    Economics Economics,
    IReadOnlyList<LatencyStats> Latency,
    TelemetrySeries Series)
{
    /// <summary>
    /// With several served models: one row per model and one for all of them (cost per 1M tokens from each engine's device
    /// time); null with one model, where the rest of the snapshot says it all. The rest of the snapshot is the default
    /// (first) model's.
    /// </summary>
    public IReadOnlyList<ServedModelStats>? Models { get; init; }

    /// <summary>The router's counts when one is configured; else null.</summary>
    public RouterStats? Router { get; init; }
}

/// <summary>The served model as the cost model sees it.</summary>
public sealed record ModelSummary(string Architecture, long Parameters, long MatmulFlopsPerToken, long WeightBytesPerStep, long KvBytesPerToken, string KvDType);

/// <summary>NVML's view: the latest sample per GPU, or why there is none.</summary>
public sealed record GpuCounters(bool Available, string Status, string? LastError, IReadOnlyList<string> DeviceNames, IReadOnlyList<GpuSample> Latest);

/// <summary>Counters since start (for Prometheus counters), summed over the steps that ran the model.</summary>
public sealed record TelemetryTotals(long Steps, long PrefillTokens, long OutputTokens, double Flops, double Bytes, double BusySeconds, double HostInStepSeconds, double HostGapSeconds, long Preempted)
{
    /// <summary>Of <see cref="Preempted"/>, the preemptions that swapped the victim's KV to host memory (the rest recomputed).</summary>
    public long SwapPreemptions { get; init; }

    /// <summary>KV blocks copied to host swap space (server /metrics: brim:kv_blocks_swapped_total{direction="out"}).</summary>
    public long SwappedOutBlocks { get; init; }

    /// <summary>KV blocks copied back from host swap space; never more than <see cref="SwappedOutBlocks"/>.</summary>
    public long SwappedInBlocks { get; init; }

    /// <summary>Speculative drafts verified (one per sequence and step that speculated).</summary>
    public long Drafts { get; init; }

    /// <summary>Draft tokens proposed and verified.</summary>
    public long DraftTokens { get; init; }

    /// <summary>Of <see cref="DraftTokens"/>, those the target accepted.</summary>
    public long AcceptedDraftTokens { get; init; }

    /// <summary>Steps with decoding requests where the speculation policy chose no draft.</summary>
    public long SpeculationOffSteps { get; init; }
}

/// <summary>The live economics table of the last minute, with its assumption spelled out.</summary>
public sealed record Economics(string Window, string Assumption, int MaxRunning, IReadOnlyList<EconomicsRow> Rows);

/// <summary>
/// One value per completed wall-clock second for the dashboard charts, oldest first. Null is "no data" (a gap in the
/// chart), never zero in disguise.
/// </summary>
public sealed record TelemetrySeries(
    long[] UnixSeconds,
    double?[] OutputTokensPerSecond,
    double?[] PrefillTokensPerSecond,
    double?[] Occupancy,
    double?[] BusyFraction,
    double?[] Mfu,
    double?[] Mbu,
    double?[] GpuUtilization,
    double?[] Running,
    double?[] Waiting,
    double?[] RunningOffline,
    double?[] WaitingOffline,
    double?[] TtftOnline,
    double?[] TtftOffline,
    double?[] E2eOnline,
    double?[] E2eOffline,
    double?[] CostPerMillionOutputTokens);
