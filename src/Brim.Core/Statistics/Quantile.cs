namespace Brim.Core.Statistics;

/// <summary>
/// The one definition of a percentile everywhere Brim reports one (benchmarks, the load generator's report, the
/// dashboard's latency table): the nearest-rank quantile, the smallest sample with at least q of the samples at or
/// below it. It is always a value that was measured, never one interpolated between two.
/// </summary>
public static class Quantile
{
    /// <summary>The q-quantile (0..1) of values sorted ascending; throws when there are none.</summary>
    public static double OfSorted(ReadOnlySpan<double> sorted, double q)
    {
        if (sorted.IsEmpty)
        {
            throw new ArgumentException("no samples", nameof(sorted));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(q, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(q, 1);
        return sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    /// <summary>The q-quantile (0..1) of unsorted samples; NaN when there are none.</summary>
    public static double Of(IEnumerable<double> samples, double q)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : OfSorted(sorted, q);
    }
}
