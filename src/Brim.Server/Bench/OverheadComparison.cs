using Brim.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Bench;

/// <summary>The engine alone against the engine behind the HTTP server, same workload, same process, same run.</summary>
public sealed record ComparisonResult(IReadOnlyList<BenchSummary> Engine, IReadOnlyList<BenchSummary> Server)
{
    /// <summary>Server output tokens/s over engine output tokens/s, the median over the rounds.</summary>
    public double Ratio
    {
        get
        {
            var ratios = Engine.Zip(Server, (e, s) => s.OutputTokensPerSecond / e.OutputTokensPerSecond).Order().ToArray();
            return ratios[ratios.Length / 2];
        }
    }
}

/// <summary>
/// Measures serving overhead: <see cref="Concurrency"/> clients stream the same workload through the engine
/// directly (GenerateAsync) and through the HTTP server on loopback, alternating for several rounds after a
/// warm-up, so both see the same JIT state, caches and machine load.
/// </summary>
public sealed class OverheadComparison(ModelHost host, BenchWorkloadOptions workload)
{
    public int Concurrency { get; init; } = 64;

    public int Rounds { get; init; } = 3;

    public async Task<ComparisonResult> RunAsync(Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        host.StartEngine();
        var requests = BenchWorkload.Create(workload, host.Tokenizer.VocabSize, host.Tokenizer.BosTokenId, host.Engine.MaxModelLength);
        var load = new LoadOptions { MaxConcurrency = Concurrency };
        await using var server = BrimServer.Create(host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning });
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        using var http = new HttpStreamingTarget(server.BaseAddress, host.ServedModelName, apiKey: null);
        var engine = new EngineTarget(host.Engine);

        var warmup = requests.Take(Math.Min(requests.Count, Concurrency)).ToList();
        await LoadGenerator.RunAsync(engine, warmup, load, cancellationToken).ConfigureAwait(false);
        await LoadGenerator.RunAsync(http, warmup, load, cancellationToken).ConfigureAwait(false);

        var engineRuns = new List<BenchSummary>();
        var serverRuns = new List<BenchSummary>();
        for (var round = 0; round < Rounds; round++)
        {
            var e = BenchSummary.Of(await LoadGenerator.RunAsync(engine, requests, load, cancellationToken).ConfigureAwait(false));
            log?.Invoke(e.Format());
            var s = BenchSummary.Of(await LoadGenerator.RunAsync(http, requests, load, cancellationToken).ConfigureAwait(false));
            log?.Invoke(s.Format());
            engineRuns.Add(e);
            serverRuns.Add(s);
        }

        await server.StopAsync(cancellationToken).ConfigureAwait(false);
        return new ComparisonResult(engineRuns, serverRuns);
    }
}
