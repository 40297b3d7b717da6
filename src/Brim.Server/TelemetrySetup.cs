using Brim.Server.Hosting;
using Brim.Telemetry;

namespace Brim.Server;

/// <summary>Telemetry options for a served model: its shape, its device, and the device's ceilings measured at startup.</summary>
internal static class TelemetrySetup
{
    public static TelemetryOptions OptionsFor(ModelHost host, ServerOptions options)
    {
        var telemetry = new TelemetryOptions
        {
            Model = host.Config,
            DeviceName = host.Engine.DeviceName,
            GpuHourlyCost = options.GpuHourlyCost,
            KvBytesPerPosition = host.KvBytesPerPosition,
            ProjectionBytes = host.ProjectionBytes,
            DeviceCount = host.DeviceCount, // cost: every rank's GPU is paid for
        };
        // Copy bandwidth (read + write) and bf16 GEMM rate measured on this card, not the datasheet; one card's, as the
        // per-device gauges report.
        if (options.MeasureCeilings && host.MeasureCeilings() is { } ceilings)
        {
            telemetry = telemetry with
            {
                PeakBytesPerSecond = ceilings.CopyGBps * 1e9,
                PeakFlopsPerSecond = ceilings.GemmTflops * 1e12,
                CeilingsSource = "measured at startup",
            };
        }

        return telemetry;
    }

    /// <summary>
    /// Options for a second model on the device <paramref name="first"/> already reports: no NVML sampler of its own,
    /// and the ceilings and price the first one found (measuring again would only disturb the running engine).
    /// </summary>
    public static TelemetryOptions OptionsOnSameDevice(ModelHost host, ServerOptions options, TelemetryHub first) => new()
    {
        Model = host.Config,
        DeviceName = first.Device.DeviceName,
        GpuHourlyCost = options.GpuHourlyCost,
        KvBytesPerPosition = host.KvBytesPerPosition,
        PeakBytesPerSecond = first.Device.Ceilings.PeakBytesPerSecond,
        PeakFlopsPerSecond = first.Device.Ceilings.PeakFlopsPerSecond,
        CeilingsSource = first.Device.Ceilings.Source,
        UseNvml = false,
    };
}
