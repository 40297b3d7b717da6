using Brim.Models;

namespace Brim.Telemetry;

/// <summary>What the telemetry needs to know that the engine's step records do not say.</summary>
public sealed record TelemetryOptions
{
    /// <summary>The served model's shape: the FLOP/byte model is derived from it.</summary>
    public required ModelConfig Model { get; init; }

    /// <summary>Element type of the KV cache; null means the weight type.</summary>
    public TensorDType? KvDType { get; init; }

    /// <summary>
    /// Bytes one position of the KV cache takes over all layers, K and V, as the backend stores it (quantized caches
    /// carry scales); null derives it from <see cref="KvDType"/>.
    /// </summary>
    public long? KvBytesPerPosition { get; init; }

    /// <summary>Bytes of the decoder's linear weights as the backend holds them (quantized: codes and scales); null derives them from the model's dtype.</summary>
    public long? ProjectionBytes { get; init; }

    /// <summary>The backend's device name (e.g. <c>LlmEngine.DeviceName</c>); NVML's name wins when NVML is present.</summary>
    public string? DeviceName { get; init; }

    /// <summary>Devices the engine runs on (tensor parallel); cost is per device-hour times this.</summary>
    public int DeviceCount { get; init; } = 1;

    /// <summary><c>--gpu-hourly-cost</c>: US dollars per device-hour; null takes the catalog's default for the card.</summary>
    public double? GpuHourlyCost { get; init; }

    /// <summary>Peak FLOP/s of one device (measured at startup by the backend, or configured); null: datasheet or n/a.</summary>
    public double? PeakFlopsPerSecond { get; init; }

    /// <summary>Peak memory bytes/s of one device (measured or configured); null: datasheet or n/a.</summary>
    public double? PeakBytesPerSecond { get; init; }

    /// <summary>How the peaks above were obtained, shown beside MFU/MBU ("measured at startup", "configured").</summary>
    public string CeilingsSource { get; init; } = "configured";

    /// <summary>Sample GPU counters through NVML when the driver is present.</summary>
    public bool UseNvml { get; init; } = true;

    public TimeSpan NvmlInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Model);
        ArgumentOutOfRangeException.ThrowIfLessThan(DeviceCount, 1, nameof(DeviceCount));
        if (GpuHourlyCost is { } cost && !(cost >= 0 && double.IsFinite(cost)))
        {
            throw new ArgumentOutOfRangeException(nameof(GpuHourlyCost), cost, "--gpu-hourly-cost must be a non-negative number of dollars");
        }

        new Devices.DeviceCeilings(PeakFlopsPerSecond, PeakBytesPerSecond, CeilingsSource).Validate();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(NvmlInterval, TimeSpan.Zero, nameof(NvmlInterval));
    }
}
