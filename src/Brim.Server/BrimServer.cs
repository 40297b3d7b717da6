using Brim.Telemetry;
using Brim.Telemetry.Exposition;
using System.Net;
using Brim.Server.Api;
using Brim.Server.Batches;
using Brim.Server.Generation;
using Brim.Server.Hosting;
using Brim.Server.Logging;
using Brim.Server.Observability;
using Brim.Server.Metrics;
using Brim.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server;

/// <summary>
/// The OpenAI-compatible HTTP server over a <see cref="ModelHost"/>: Kestrel with minimal-API routes for
/// /v1/completions, /v1/chat/completions, /v1/models, /health, /ready and /metrics, and with a data directory the
/// Files and Batch APIs (/v1/files, /v1/batches) whose lines run as offline traffic. Tests start it on port 0 and
/// read <see cref="BaseAddress"/>; `brim serve` runs it until SIGTERM, which drains in-flight requests for up to
/// <see cref="ServerOptions.DrainTimeout"/>. The caller owns the model host.
/// </summary>
public sealed class BrimServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerContext _context;

    private BrimServer(WebApplication app, ServerContext context)
    {
        _app = app;
        _context = context;
    }

    /// <summary>The default model's request-level metrics.</summary>
    public ServerMetrics Metrics => _context.Metrics;

    /// <summary>The default (first) model.</summary>
    public ModelHost Host => _context.Host;

    /// <summary>Every served model, the default first.</summary>
    public IReadOnlyList<ModelHost> Hosts => [.. _context.Models.Select(m => m.Host)];

    /// <summary>The request-level metrics of the model served as <paramref name="name"/>.</summary>
    public ServerMetrics MetricsOf(string name) => (_context.Find(name) ?? throw new ArgumentException($"no model is served as '{name}'", nameof(name))).Metrics;

    /// <summary>The application's services (the route table, for tests that must cover every route).</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>This server's "Brim" System.Diagnostics.Metrics meter (dotnet-counters, OpenTelemetry).</summary>
    public BrimMeter Meter => _app.Services.GetRequiredService<BrimMeter>();

    /// <summary>http://host:port/ once started (the real port when 0 was asked for).</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public static BrimServer Create(ModelHost host, ServerOptions options) => Create([host], options);

    /// <summary>
    /// A server of several models, each with its own engine, addressed by its served name; the first is the default (a
    /// request without <c>model</c>, the Batch API's capacity, the dashboard's device). With
    /// <see cref="ServerOptions.Router"/>, requests naming its alias are routed among them. The caller owns the hosts.
    /// </summary>
    public static BrimServer Create(IReadOnlyList<ModelHost> hosts, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentOutOfRangeException.ThrowIfZero(hosts.Count);
        var host = hosts[0];
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        ServerLogging.Configure(builder.Logging, options);
        // The drain (ShutdownDrain) runs inside the host's stop; Kestrel's own stop comes after it and finds nothing open.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.DrainTimeout + ShutdownDrain.Grace + TimeSpan.FromSeconds(5));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = RequestBody.DrainLimit(options.MaxRequestBodyBytes);
            if (options.Host == "localhost")
            {
                kestrel.ListenLocalhost(options.Port);
            }
            else if (IPAddress.TryParse(options.Host, out var address))
            {
                kestrel.Listen(address, options.Port);
            }
            else
            {
                throw new ArgumentException($"--host must be an IP address or 'localhost', got '{options.Host}'", nameof(options));
            }
        });

        // The server's parts are services: each gets what it depends on at construction (no hooks set afterwards).
        var services = builder.Services;
        services.AddSingleton<BrimMeter>(); // disposed with the app's services
        services.AddSingleton<IGenerationObserver>(sp => sp.GetRequiredService<BrimMeter>());
        services.AddSingleton<IGenerationObserver, AccessLogObserver>();
        services.AddBrimTelemetry(TelemetrySetup.OptionsFor(host, options));
        services.AddSingleton(sp => ServedModels.Create(hosts, options, sp));
        services.AddSingleton(sp => sp.GetRequiredService<ServedModels>().Context);
        services.AddSingleton<IHostedService>(sp => new ShutdownDrain(sp.GetRequiredService<ServerContext>()));
        if (options.DataDirectory is { } dataDirectory)
        {
            BatchApi.AddServices(services, options, dataDirectory);
        }

        // After the Batch API's source: /metrics keeps the server's, the batch and then the telemetry families in that order.
        services.AddSingleton<IPrometheusSource>(sp => sp.GetRequiredService<TelemetryHub>());
        services.AddSingleton<MetricsExposition>();
        if (options.Tracing is { } tracing)
        {
            BrimTracing.AddTo(services, tracing);
        }

        var app = builder.Build();
        ServerContext context;
        try
        {
            context = app.Services.GetRequiredService<ServerContext>(); // checks the models' names and the router against them
        }
        catch
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        app.Services.GetRequiredService<ServedModels>().AttachTelemetry();
        Configure(app, context, app.Logger);
        if (options.DataDirectory is not null)
        {
            BatchApi.Map(app, context);
        }

        app.Lifetime.ApplicationStopping.Register(() => context.Accepting = false);
        return new BrimServer(app, context);
    }

    private static void Configure(WebApplication app, ServerContext server, ILogger logger)
    {
        AccessLog.Use(app);
        app.Use(async (http, next) =>
        {
            try
            {
                await next(http).ConfigureAwait(false);
            }
            catch (ApiException e)
            {
                await ErrorResponses.WriteAsync(http, e).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e)
            {
                var error = e.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? RequestBody.TooLarge(server.Options.MaxRequestBodyBytes)
                    : new ApiException(e.StatusCode, e.Message);
                await ErrorResponses.WriteAsync(http, error).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client went away; its engine requests were cancelled on the way out.
            }
#pragma warning disable CA1031 // the server must answer every request, whatever failed
            catch (Exception e)
#pragma warning restore CA1031
            {
                logger.LogError(e, "unhandled error on {Method} {Path}", http.Request.Method, http.Request.Path);
                await ErrorResponses.WriteAsync(http, new ApiException(500, "internal server error; see the server log")).ConfigureAwait(false);
            }
        });

        // Unmatched routes (404) and wrong methods (405) come from routing with no body; give them the envelope.
        app.UseStatusCodePages(status =>
        {
            var http = status.HttpContext;
            var code = http.Response.StatusCode;
            var error = code switch
            {
                404 => new ApiException(404, $"no route {http.Request.Method} {ApiText.Truncate(http.Request.Path)}", code: "unknown_url"),
                405 => new ApiException(405, $"{http.Request.Method} is not allowed on {ApiText.Truncate(http.Request.Path)}", code: "method_not_allowed"),
                _ => new ApiException(code, $"HTTP {code}"),
            };
            return ErrorResponses.WriteAsync(http, error);
        });

        app.Use(AllowedHosts.For(server.Options).InvokeAsync);
        app.UseRouting();
        app.Use(new ApiKeyCheck(server.Options.ApiKeys).InvokeAsync); // after routing: it reads the endpoint's metadata

        app.MapPost("/v1/chat/completions", http => GenerationEndpoint.HandleAsync(http, server, ApiKind.Chat));
        app.MapPost("/v1/completions", http => GenerationEndpoint.HandleAsync(http, server, ApiKind.Completion));
        app.MapGet("/v1/models", http => InfoEndpoints.ModelsAsync(http, server));
        app.MapGet("/v1/models/{id}", http => InfoEndpoints.ModelAsync(http, server));
        app.MapPost("/reset_prefix_cache", http => PrefixCacheEndpoints.ResetAsync(http, server));

        // The public routes (no API key): probes, scrapers and the dashboard. Everything else needs a key.
        var open = app.MapGroup(string.Empty).AllowAnonymous();
        var metrics = app.Services.GetRequiredService<MetricsExposition>();
        open.MapGet("/metrics", http => InfoEndpoints.MetricsAsync(http, metrics));
        var served = app.Services.GetRequiredService<ServedModels>();
        open.MapBrimTelemetry(served.Complete); // the dashboard at /, its assets, and GET /v1/stats (with every model's row)
        open.MapGet("/health", http => http.Response.WriteAsync("ok"));
        open.MapGet("/ready", http =>
        {
            if (!server.Accepting)
            {
                http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return http.Response.WriteAsync("shutting down");
            }

            return http.Response.WriteAsync("ready");
        });
    }

    /// <summary>Starts the engine's step loop (if not yet running) and Kestrel.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        foreach (var model in _context.Models)
        {
            model.Host.StartEngine();
        }

        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
    }

    /// <summary>Waits for SIGTERM/Ctrl+C (or <paramref name="cancellationToken"/>), then drains and returns.</summary>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default)
    {
        await _app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops accepting (/ready 503, new generation requests 503), lets in-flight requests finish for up to the drain
    /// timeout, ends the rest with an in-band error (streams) or a 503, then stops Kestrel.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _context.Accepting = false;
        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        _context.InFlight.Dispose();
    }
}
