using System.Diagnostics;

namespace Brim.Server.Bench;

/// <summary>How requests arrive: a Poisson process at <see cref="RequestRate"/> per second (infinity: all at once), at most <see cref="MaxConcurrency"/> in flight.</summary>
public sealed record LoadOptions
{
    public double RequestRate { get; init; } = double.PositiveInfinity;

    public int MaxConcurrency { get; init; } = int.MaxValue;

    public int Seed { get; init; }
}

/// <summary>All timings of one run and how long it took from the first send to the last answer.</summary>
public sealed record BenchRun(string Target, IReadOnlyList<RequestTiming> Requests, double DurationSeconds);

/// <summary>Sends a workload to a target with Poisson arrivals and a concurrency cap, as vLLM's benchmark_serving does.</summary>
public static class LoadGenerator
{
    public static async Task<BenchRun> RunAsync(IBenchTarget target, IReadOnlyList<BenchRequest> workload, LoadOptions load, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(load.MaxConcurrency, 1);
        if (!(load.RequestRate > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(load), "the request rate must be positive (or infinity)");
        }

        var random = new Random(load.Seed);
        using var slots = new SemaphoreSlim(Math.Min(load.MaxConcurrency, workload.Count));
        var tasks = new Task<RequestTiming>[workload.Count];
        var clock = Stopwatch.StartNew();
        var due = 0.0;
        for (var i = 0; i < workload.Count; i++)
        {
            if (!double.IsPositiveInfinity(load.RequestRate))
            {
                due += -Math.Log(1 - random.NextDouble()) / load.RequestRate; // exponential gaps: Poisson arrivals
                var wait = due - clock.Elapsed.TotalSeconds;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken).ConfigureAwait(false);
                }
            }

            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            tasks[i] = SendAsync(target, workload[i], slots, cancellationToken);
        }

        var timings = await Task.WhenAll(tasks).ConfigureAwait(false);
        return new BenchRun(target.Name, timings, clock.Elapsed.TotalSeconds);
    }

    private static async Task<RequestTiming> SendAsync(IBenchTarget target, BenchRequest request, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Yield(); // the sender's loop keeps its pace while requests run
            return await target.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a failed request is a result of the benchmark, not its end
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            return new RequestTiming { Succeeded = false, Error = e.Message };
        }
        finally
        {
            slots.Release();
        }
    }
}
