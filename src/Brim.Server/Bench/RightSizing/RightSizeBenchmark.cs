using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Brim.Server.Bench.RightSizing;

/// <summary>
/// Sends the right-sizing workload through a running Brim server of several models under one model name (large only,
/// small only, or the router's alias), <see cref="Concurrency"/> requests at a time, and measures it: wall time, output
/// tokens (from each response's usage), who answered (its <c>model</c> field), escalations (the cascade's header), and
/// the device time the engines spent in steps (/v1/stats before and after). The server must not need an API key.
/// </summary>
public sealed class RightSizeBenchmark(HttpClient http, int maxTokens, int concurrency = 16)
{
    public int Concurrency { get; } = concurrency >= 1 ? concurrency : throw new ArgumentOutOfRangeException(nameof(concurrency));

    /// <summary>
    /// Runs the workload under <paramref name="model"/>, starting from cold prefix caches: every arm sends the same
    /// prompts, and an arm that found the previous arm's prompts cached would skip their prefill.
    /// </summary>
    public async Task<RightSizeResult> RunAsync(string label, string model, IReadOnlyList<RightSizeRequest> requests, CancellationToken cancellationToken = default)
    {
        using (var reset = await http.PostAsync(new Uri("reset_prefix_cache", UriKind.Relative), null, cancellationToken).ConfigureAwait(false))
        {
            reset.EnsureSuccessStatusCode();
        }

        var busyBefore = await BusySecondsAsync(cancellationToken).ConfigureAwait(false);
        var answeredBy = new Dictionary<string, int>(StringComparer.Ordinal);
        long outputTokens = 0;
        int cascaded = 0, escalated = 0;
        using var gate = new SemaphoreSlim(Concurrency);
        var clock = Stopwatch.StartNew();
        var tasks = requests.Select(async request =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var (answered, tokens, wasEscalated) = await SendAsync(model, request, cancellationToken).ConfigureAwait(false);
                lock (answeredBy)
                {
                    answeredBy[answered] = answeredBy.GetValueOrDefault(answered) + 1;
                    outputTokens += tokens;
                    if (wasEscalated is { } e)
                    {
                        cascaded++;
                        escalated += e ? 1 : 0;
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        var wall = clock.Elapsed.TotalSeconds;

        // A step is recorded just after it delivered its tokens: let the last one land before reading the device time.
        await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ConfigureAwait(false);
        var busyAfter = await BusySecondsAsync(cancellationToken).ConfigureAwait(false);
        return new RightSizeResult(label, model, requests.Count, outputTokens, wall, busyAfter - busyBefore, answeredBy, cascaded, escalated);
    }

    private async Task<(string Model, int Tokens, bool? Escalated)> SendAsync(string model, RightSizeRequest request, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("v1/completions", new
        {
            model,
            prompt = request.Prompt,
            max_tokens = maxTokens,
            temperature = 1.0,
            seed = request.Seed,
        }, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"request {request.Index} to '{model}' failed with {(int)response.StatusCode}: {text}");
        }

        using var body = JsonDocument.Parse(text);
        var root = body.RootElement;
        bool? escalated = response.Headers.TryGetValues(Routing.RoutingHeaders.Escalated, out var values) ? values.Single() == "true" : null;
        return (root.GetProperty("model").GetString()!, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), escalated);
    }

    /// <summary>The engines' time in steps since the server started, all models together.</summary>
    private async Task<double> BusySecondsAsync(CancellationToken cancellationToken)
    {
        using var stats = JsonDocument.Parse(await http.GetStringAsync(new Uri("v1/stats", UriKind.Relative), cancellationToken).ConfigureAwait(false));
        if (!stats.RootElement.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidOperationException("the server reports no per-model rows on /v1/stats: the right-sizing benchmark needs a server of several models");
        }

        return models.EnumerateArray().Where(m => m.GetProperty("name").GetString() != Telemetry.Exposition.ServedModelStats.AllModels)
            .Sum(m => m.GetProperty("busySeconds").GetDouble());
    }
}
