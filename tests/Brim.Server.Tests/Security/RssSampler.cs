using System.Diagnostics;

namespace Brim.Server.Tests.Security;

/// <summary>
/// Samples the process's resident set (Process.WorkingSet64) while a request runs, against a baseline taken after a full
/// GC: the peak shows input buffered whole even when it was garbage by the end, the settled value after another GC
/// shows input kept.
/// </summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly long _baseline;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private long _peak;

    private RssSampler()
    {
        _baseline = SettledRss();
        _peak = _baseline;
        _sampling = Task.Run(SampleAsync);
    }

    public static RssSampler Start() => new();

    /// <summary>The highest resident set seen so far, less the baseline.</summary>
    public long PeakGrowth => Interlocked.Read(ref _peak) - _baseline;

    /// <summary>Stops sampling and returns the peak growth and the growth left after a full GC.</summary>
    public async Task<(long Peak, long Settled)> StopAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        return (PeakGrowth, SettledRss() - _baseline);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }

    private async Task SampleAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var rss = Rss();
            if (rss > Interlocked.Read(ref _peak))
            {
                Interlocked.Exchange(ref _peak, rss);
            }

            try
            {
                await Task.Delay(5, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static long SettledRss()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return Rss();
    }

    private static long Rss()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
