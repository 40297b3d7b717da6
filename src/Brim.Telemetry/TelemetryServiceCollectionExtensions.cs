using Brim.Telemetry.Nvml;
using Microsoft.Extensions.DependencyInjection;

namespace Brim.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="TelemetryHub"/> (NVML sampling started when <see cref="TelemetryOptions.UseNvml"/>).
    /// Attach it to the engine with <c>hub.Attach(engine)</c> and map the endpoints with <c>app.MapBrimTelemetry()</c>.
    /// </summary>
    public static IServiceCollection AddBrimTelemetry(this IServiceCollection services, TelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        services.AddSingleton(_ => TelemetryHub.Create(options));
        return services;
    }
}
