using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Brim.Server.Observability;

/// <summary>
/// The "Brim" activity source (one span per generation, see <see cref="GenerationSpan"/>) and the tracer the server
/// registers when <see cref="ServerOptions.Tracing"/> asks for one: ASP.NET Core's span per HTTP request with
/// Brim's generation span as its child, exported as <see cref="TraceExport"/> says.
/// </summary>
public static class BrimTracing
{
    public const string SourceName = "Brim";

    // Probes and scrapes arrive every few seconds and say nothing about a request: they would drown the traces.
    private static readonly string[] UntracedPaths = ["/health", "/ready", "/metrics"];

    internal static ActivitySource Source { get; } = new(SourceName, typeof(BrimTracing).Assembly.GetName().Version?.ToString());

    internal static void AddTo(IServiceCollection services, TraceExport export)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(export.ServiceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource(SourceName).AddAspNetCoreInstrumentation(o => o.Filter = Traced);
                if (export.Otlp)
                {
                    tracing.AddOtlpExporter();
                }

                if (export.Console)
                {
                    tracing.AddConsoleExporter();
                }

                export.Configure?.Invoke(tracing);
            });
    }

    private static bool Traced(HttpContext http) => !UntracedPaths.Contains(http.Request.Path.Value, StringComparer.OrdinalIgnoreCase);
}
