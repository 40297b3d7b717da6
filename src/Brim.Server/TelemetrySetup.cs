using Brim.Backends.Cuda;
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
        };
        if (options.MeasureCeilings && host.Backend is CudaBackend cuda)
        {
            // Copy bandwidth (read + write) and bf16 GEMM rate measured on this card, not the datasheet.
            var ceilings = cuda.MeasureCeilings();
            telemetry = telemetry with
            {
                PeakBytesPerSecond = ceilings.CopyGBps * 1e9,
                PeakFlopsPerSecond = ceilings.GemmTflops * 1e12,
                CeilingsSource = "measured at startup",
            };
        }

        return telemetry;
    }
}
