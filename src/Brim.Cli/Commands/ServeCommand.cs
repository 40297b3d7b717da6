using System.CommandLine;
using Brim.Engine;
using Brim.Server;
using Brim.Server.Hosting;
using Brim.Server.Logging;
using Brim.Server.Observability;
using Brim.Server.Routing;
using Microsoft.Extensions.Logging;

namespace Brim.Cli.Commands;

/// <summary>
/// `brim serve`: the OpenAI-compatible HTTP server. SIGTERM or Ctrl+C drains: new connections are refused and
/// in-flight requests finish for up to --drain-timeout seconds. (System.CommandLine ends the process
/// ProcessTerminationTimeout after the signal, 2 s by default: invoke with that set to null to give the drain its time.)
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new ModelOptions(several: true);
        var host = new Option<string>("--host") { Description = "IP address to listen on, or localhost (or $BRIM_HOST)", DefaultValueFactory = _ => "127.0.0.1", CustomParser = OptionValues.ListenHost };
        var port = new Option<int>("--port", "-p") { Description = "TCP port, 0 for any free one (or $BRIM_PORT)", DefaultValueFactory = _ => 8000, CustomParser = OptionValues.Port };
        var servedName = new Option<string?>("--served-model-name") { Description = "The name clients send as 'model' (one --model only; with several, give each as NAME=PATH); default: the model directory's name" };
        var routerConfig = new Option<string?>("--router-config")
        {
            Description = "JSON file of the router that answers requests naming its alias (\"auto\"): rules and a small-then-large cascade over the served models (docs/routing.md)",
        };
        var apiKeys = new Option<string[]>("--api-key") { Description = "Bearer key required on /v1 routes (repeatable, or $BRIM_API_KEY); none: no authentication" };
        var allowedHosts = new Option<string[]>("--allowed-hosts")
        {
            Description = "Host header names the server answers (repeatable; * for any); default: only localhost, 127.0.0.1 and [::1] when bound to loopback, any otherwise",
        };
        var maxWaiting = new Option<int>("--max-waiting")
        {
            Description = "Requests that may wait for a batch slot; beyond it clients get 429", DefaultValueFactory = _ => 4096, CustomParser = OptionValues.AtLeastOne,
        };
        var maxBody = new Option<long>("--max-request-bytes")
        {
            Description = "Largest request body (413 beyond), at least 1024", DefaultValueFactory = _ => 4 * 1024 * 1024, CustomParser = r => OptionValues.AtLeast(r, 1024),
        };
        var dataDir = new Option<string>("--data-dir") { Description = "Directory of the Files and Batch APIs' database and files", DefaultValueFactory = _ => "brim-data" };
        var hourlyCost = new Option<double?>("--gpu-hourly-cost") { Description = "Dollars per device-hour for cost per 1M tokens (default: the card's catalog price)" };
        var reserve = new Option<double>("--offline-reserve") { Description = "Share of batch slots offline work keeps whenever it has work", DefaultValueFactory = _ => 0.1 };
        var window = new Option<double>("--batch-window-ms") { Description = "How long online waits for a slot held by offline before preempting it", DefaultValueFactory = _ => 5 };
        var headroom = new Option<int>("--online-headroom") { Description = "Batch slots offline backfill leaves free for arriving online requests", DefaultValueFactory = _ => 0 };
        var tpotSlo = new Option<double?>("--online-tpot-slo-ms") { Description = "Online time-per-output-token target: offline work may not push a step with online decode rows above it, and offline admission backs off near it (default with a TTFT target: learned, online p99 TPOT within 1.1 × its own)" };
        var ttftSlo = new Option<double?>("--online-ttft-slo-ms") { Description = "Online time-to-first-token target; offline admission backs off near it" };
        var drain = new Option<double>("--drain-timeout") { Description = "Seconds in-flight requests get to finish on shutdown", DefaultValueFactory = _ => 30, CustomParser = OptionValues.Seconds };
        // No DefaultValueFactory: the help would print the default as TimeSpan does ("1.00:00:00"), not as it is typed.
        var completionWindow = new Option<TimeSpan?>("--batch-completion-window")
        {
            Description = "How long a Batch API batch has to finish before it expires, e.g. 24h, 90m, 30s (what the completion_window \"24h\" clients send means here) [default: 24h]",
            CustomParser = ParseCompletionWindow,
        };

        var logLevel = EnumOption.CreateOptional("--log-level", "Least severe log entries written to stderr (information: one access line per request)", LogLevel.Information);
        var logFormat = EnumOption.Create<LogFormat>("--log-format", "Log lines as text or one JSON object each");
        var command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions, /v1/models, /metrics)")
        {
            host, port, servedName, routerConfig, apiKeys, allowedHosts, logLevel, logFormat, maxWaiting, maxBody, drain, dataDir, completionWindow, hourlyCost, reserve, window, headroom, tpotSlo, ttftSlo,
        };
        model.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            // Before the model loads (minutes for a large one): a port already taken is known now.
            if (ListenProbe.InUse(result.GetValue(host)!, result.GetValue(port)) is { } busy)
            {
                await Console.Error.WriteLineAsync($"brim: {busy}; stop what uses it or pick another with --port");
                return 1;
            }

            // Also before the model loads: an OTEL_TRACES_EXPORTER Brim does not have is an error now, not after minutes.
            var tracing = TraceExport.FromEnvironment(Environment.GetEnvironmentVariable);
            IReadOnlyList<ModelHostOptions> models;
            try
            {
                models = model.ReadAll(result);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"brim: {e.Message.Split(" (Parameter")[0]}");
                return 2;
            }
            if (result.GetValue(servedName) is { } name)
            {
                if (models.Count > 1)
                {
                    await Console.Error.WriteLineAsync("brim: --served-model-name names one model; with several --model, give each its name as NAME=PATH");
                    return 2;
                }

                models = [models[0] with { ServedModelName = name }];
            }

            // Also before the models load: a router configuration that does not read is known now.
            var router = result.GetValue(routerConfig) is { } routerPath ? RouterConfigReader.ReadFile(routerPath) : null;
            using var modelHosts = new HostList();
            foreach (var one in models)
            {
                modelHosts.Add(ModelHost.Load(one with
                {
                    Engine = one.Engine with
                    {
                        MaxWaitingRequests = result.GetValue(maxWaiting),
                        OfflineReservedShare = result.GetValue(reserve),
                        BatchWindow = TimeSpan.FromMilliseconds(result.GetValue(window)),
                        OnlineHeadroomSlots = result.GetValue(headroom),
                        OnlineTpotSlo = result.GetValue(tpotSlo) is { } tpot ? TimeSpan.FromMilliseconds(tpot) : null,
                        OnlineTtftSlo = result.GetValue(ttftSlo) is { } ttft ? TimeSpan.FromMilliseconds(ttft) : null,
                    },
                }));
            }

            var options = new ServerOptions
            {
                Host = result.GetValue(host)!,
                Port = result.GetValue(port),
                ApiKeys = result.GetValue(apiKeys) ?? [],
                AllowedHosts = result.GetValue(allowedHosts) is { Length: > 0 } names ? names : null,
                MaxRequestBodyBytes = result.GetValue(maxBody),
                DrainTimeout = TimeSpan.FromSeconds(result.GetValue(drain)),
                DataDirectory = Path.GetFullPath(result.GetValue(dataDir)!),
                GpuHourlyCost = result.GetValue(hourlyCost),
                BatchCompletionWindow = result.GetValue(completionWindow) ?? TimeSpan.FromHours(24),
                MinimumLogLevel = result.GetValue(logLevel) ?? LogLevel.Information,
                LogFormat = result.GetValue(logFormat),
                Tracing = tracing,
                Router = router,
            };
            await using var server = BrimServer.Create(modelHosts, options);
            await server.StartAsync(cancellationToken);
            foreach (var modelHost in modelHosts)
            {
                var engine = modelHost.Engine;
                var share = modelHosts.Count > 1 ? $", {modelHost.MemoryShare} of the memory budget" : string.Empty;
                await Console.Error.WriteLineAsync(
                    $"brim: serving '{modelHost.ServedModelName}' from {modelHost.ModelPath} on {modelHost.DeviceNote}; {modelHost.WeightsNote}; "
                    + $"context {engine.MaxModelLength}, KV cache {modelHost.KvCacheNote}{share}, {engine.TotalSwapBlocks} host swap blocks, {engine.Options.MaxRunningSequences} batch slots");
                foreach (var warning in modelHost.Warnings)
                {
                    await Console.Error.WriteLineAsync($"brim: warning: {warning}");
                }
            }

            if (router is not null)
            {
                await Console.Error.WriteLineAsync($"brim: model '{router.Alias}' is routed: {router.Describe()}");
            }

            await Console.Error.WriteLineAsync($"brim: OpenAI API at {server.BaseAddress}v1 (keys {(options.ApiKeys.Count > 0 ? "required" : "off")}); Ctrl+C to stop");
            if (tracing is not null)
            {
                var to = string.Join(" and ", new[] { tracing.Otlp ? "OTLP" : null, tracing.Console ? "stdout" : null }.OfType<string>());
                await Console.Error.WriteLineAsync($"brim: traces of each request go to {to} as service '{tracing.ServiceName}'");
            }

            await Console.Error.WriteLineAsync($"brim: Files and Batch APIs keep their data in {options.DataDirectory}; batches expire after {DurationText.ToText(options.BatchCompletionWindow)}");
            await server.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    private static TimeSpan? ParseCompletionWindow(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
        if (DurationText.TryParse(text, out var window) && window >= TimeSpan.FromSeconds(1))
        {
            return window;
        }

        result.AddError($"--batch-completion-window must be {DurationText.Format}, at least 1s; got '{text}'");
        return TimeSpan.Zero;
    }

    /// <summary>The loaded models, disposed together (in reverse order) when serving ends or a later one fails to load.</summary>
    private sealed class HostList : List<ModelHost>, IDisposable
    {
        public void Dispose()
        {
            for (var i = Count - 1; i >= 0; i--)
            {
                this[i].Dispose();
            }
        }
    }
}
