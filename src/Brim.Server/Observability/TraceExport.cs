using OpenTelemetry.Trace;

namespace Brim.Server.Observability;

/// <summary>
/// Where `brim serve` sends its traces, read from the standard OpenTelemetry variables: OTEL_TRACES_EXPORTER (otlp,
/// console or none, comma-separated), else OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
/// is set; OTEL_SDK_DISABLED=true turns it off; OTEL_SERVICE_NAME names the service ("brim" by default). Tracing is
/// opt-in, unlike the SDKs' own default of OTLP to localhost: with none of these set the server registers no tracer at
/// all, so nothing listens to the activity sources and a request pays nothing for them. The OTLP exporter reads its
/// own variables (OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS, _TIMEOUT) itself.
/// </summary>
public sealed record TraceExport
{
    public const string DefaultServiceName = "brim";

    public bool Otlp { get; init; }

    /// <summary>Spans written to stdout, one block each (for a first look, not for production).</summary>
    public bool Console { get; init; }

    public string ServiceName { get; init; } = DefaultServiceName;

    /// <summary>More exporters or processors (tests add an in-memory exporter).</summary>
    internal Action<TracerProviderBuilder>? Configure { get; init; }

    /// <summary>The export the environment asks for, or null when it asks for none.</summary>
    public static TraceExport? FromEnvironment(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        if (string.Equals(variable("OTEL_SDK_DISABLED")?.Trim(), "true", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        bool otlp, console = false;
        if (variable("OTEL_TRACES_EXPORTER") is { } exporters && !string.IsNullOrWhiteSpace(exporters))
        {
            otlp = false;
            foreach (var name in exporters.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                switch (name.ToLowerInvariant())
                {
                    case "otlp": otlp = true; break;
                    case "console": console = true; break;
                    case "none": break;
                    default: throw new ArgumentException($"OTEL_TRACES_EXPORTER: '{name}' is not an exporter Brim has; use otlp, console or none");
                }
            }
        }
        else
        {
            otlp = !string.IsNullOrWhiteSpace(variable("OTEL_EXPORTER_OTLP_ENDPOINT")) || !string.IsNullOrWhiteSpace(variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
        }

        if (!otlp && !console)
        {
            return null;
        }

        var service = variable("OTEL_SERVICE_NAME");
        return new TraceExport { Otlp = otlp, Console = console, ServiceName = string.IsNullOrWhiteSpace(service) ? DefaultServiceName : service.Trim() };
    }
}
