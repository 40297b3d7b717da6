namespace Brim.Telemetry;

/// <summary>Marks the assembly; the telemetry types are being built.</summary>
internal static class TelemetryAssembly;
