namespace Brim.Cli.Bench;

/// <summary>One slice of a mixed run: the tokens each class produced in it and the TPOT of the online requests that finished in it.</summary>
internal sealed record TimelineBin(double StartSeconds, double Seconds, long OnlineTokens, long OfflineTokens, IReadOnlyList<double> OnlineTpot)
{
    public double OnlineTokensPerSecond => OnlineTokens / Seconds;

    public double OfflineTokensPerSecond => OfflineTokens / Seconds;
}

/// <summary>
/// Counts a run's tokens and online TPOTs into equal slices of its duration (24 by default: a compressed day's hours), so
/// a diurnal run can be drawn over time. Not thread-safe: the benchmark's lock guards it.
/// </summary>
internal sealed class RunTimeline(double seconds, int bins = 24)
{
    private readonly long[] _online = new long[bins];
    private readonly long[] _offline = new long[bins];
    private readonly List<double>[] _tpot = [.. Enumerable.Range(0, bins).Select(_ => new List<double>())];

    public void AddTokens(double atSeconds, bool online, int tokens) => (online ? _online : _offline)[Bin(atSeconds)] += tokens;

    public void AddOnlineTpot(double atSeconds, double tpot) => _tpot[Bin(atSeconds)].Add(tpot);

    public IReadOnlyList<TimelineBin> ToBins()
    {
        var width = seconds / bins;
        return [.. Enumerable.Range(0, bins).Select(i => new TimelineBin(i * width, width, _online[i], _offline[i], [.. _tpot[i]]))];
    }

    private int Bin(double atSeconds) => Math.Clamp((int)(atSeconds / seconds * bins), 0, bins - 1);
}
