namespace Brim.Telemetry.Nvml;

/// <summary>
/// One reading of one GPU's counters. NVML's "GPU utilization" is the share of the sample period in which any kernel
/// ran — one tiny kernel keeps it at 100 % — so it says the GPU was busy, not how well; MFU/MBU say that.
/// Null fields are counters this device does not report. Memory used is nvmlDeviceGetMemoryInfo's, which includes
/// what the driver reserves (about 480 MiB on an idle H100 where nvidia-smi shows 0 MiB).
/// </summary>
public readonly record struct GpuSample(
    int Device,
    DateTimeOffset At,
    double GpuUtilizationPercent,
    double MemoryUtilizationPercent,
    double MemoryUsedBytes,
    double MemoryTotalBytes,
    double? PowerWatts,
    double? SmClockMegahertz);
