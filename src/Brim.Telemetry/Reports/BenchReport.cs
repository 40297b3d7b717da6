namespace Brim.Telemetry.Reports;

/// <summary>
/// What `brim bench report` measured, ready to be written as Markdown with charts by <see cref="BenchReportWriter"/>.
/// Empty sections are left out of the report.
/// </summary>
public sealed record BenchReport
{
    public required string Model { get; init; }

    /// <summary>The card as the run saw it (NVML name or backend name).</summary>
    public required string Device { get; init; }

    public required DateTimeOffset Date { get; init; }

    /// <summary>Dollars per device-hour used for the cost columns; null leaves them out.</summary>
    public double? HourlyCost { get; init; }

    public string HourlyCostSource { get; init; } = "--gpu-hourly-cost";

    /// <summary>Where MFU/MBU's denominators came from ("measured at startup", "datasheet: H100 SXM").</summary>
    public string? CeilingsSource { get; init; }

    /// <summary>Fixed-shape decode throughput by batch size (the seed's table).</summary>
    public IReadOnlyList<BatchSweepRow> BatchSweep { get; init; } = [];

    /// <summary>The same workload under static and continuous batching.</summary>
    public IReadOnlyList<BatchingRow> Batching { get; init; } = [];

    /// <summary>Online traffic alone, and online plus offline backfill.</summary>
    public IReadOnlyList<TrafficMixRow> TrafficMix { get; init; } = [];

    /// <summary>Free text appended at the end (e.g. what nvidia-smi said during the run).</summary>
    public string? Notes { get; init; }
}

/// <param name="GpuUtilization">NVML's "GPU busy" over the run (0..1), to set beside MBU; null without NVML.</param>
public sealed record BatchSweepRow(int BatchSize, double OutputTokensPerSecond, double? Mbu, double? Mfu = null, double? GpuUtilization = null);

/// <param name="Mode">"static" or "continuous".</param>
public sealed record BatchingRow(string Mode, double OutputTokensPerSecond, double? MeanOccupancy, double? E2eP50Seconds);

/// <param name="Setup">"online only" or "unified (online + offline backfill)".</param>
public sealed record TrafficMixRow(string Setup, double OnlineTokensPerSecond, double OfflineTokensPerSecond, double? OnlineTtftP50Seconds, double? MeanOccupancy);
