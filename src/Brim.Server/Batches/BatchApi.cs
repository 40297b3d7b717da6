using Brim.Server.Files;
using Brim.Telemetry.Exposition;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Batches;

/// <summary>
/// Wires the Files and Batch APIs into the server: the database and file store under the data directory, the
/// background <see cref="BatchRunner"/>, the routes and the offline metrics (an <see cref="IPrometheusSource"/> on /metrics). Present only when a data directory is set.
/// </summary>
internal static class BatchApi
{
    public static void AddServices(IServiceCollection services, ServerOptions options, string dataDirectory)
    {
        services.AddSingleton(_ => new BatchDatabase(dataDirectory));
        services.AddSingleton(sp => new FileStore(sp.GetRequiredService<BatchDatabase>(), dataDirectory));
        services.AddSingleton(sp => new BatchStore(sp.GetRequiredService<BatchDatabase>(), options.TimeProvider));
        services.AddSingleton(sp => new BatchMetrics(sp.GetRequiredService<BatchStore>()));
        services.AddSingleton<IPrometheusSource>(sp => sp.GetRequiredService<BatchMetrics>());
        services.AddSingleton(sp => new BatchRunner(
            sp.GetRequiredService<ServerContext>(), sp.GetRequiredService<BatchStore>(), sp.GetRequiredService<FileStore>(), sp.GetRequiredService<BatchMetrics>(),
            sp.GetRequiredService<ILogger<BatchRunner>>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<BatchRunner>());
    }

    public static void Map(WebApplication app, ServerContext server)
    {
        var services = app.Services;
        var fileStore = services.GetRequiredService<FileStore>();
        if (fileStore.AbandonedTempFilesRemoved > 0)
        {
            app.Logger.LogWarning("removed {Count} half-written temp files left in the data directory by an earlier crash", fileStore.AbandonedTempFilesRemoved);
        }

        var batchStore = services.GetRequiredService<BatchStore>();

        var files = new FileEndpoints(fileStore, server.Options.MaxFileBytes);
        app.MapPost("/v1/files", files.UploadAsync);
        app.MapGet("/v1/files", files.ListAsync);
        app.MapGet("/v1/files/{id}", files.GetAsync);
        app.MapDelete("/v1/files/{id}", files.DeleteAsync);
        app.MapGet("/v1/files/{id}/content", files.ContentAsync);

        var batches = new BatchEndpoints(batchStore, fileStore, services.GetRequiredService<BatchRunner>(), server.Options);
        app.MapPost("/v1/batches", batches.CreateAsync);
        app.MapGet("/v1/batches", batches.ListAsync);
        app.MapGet("/v1/batches/{id}", batches.GetAsync);
        app.MapPost("/v1/batches/{id}/cancel", batches.CancelAsync);
    }
}
