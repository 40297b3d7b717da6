namespace Brim.Cli.Bench;

internal static class Percentiles
{
    /// <summary>The q-quantile (0..1) by linear interpolation between closest ranks; NaN for no samples.</summary>
    public static double Of(IReadOnlyList<double> samples, double q)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        var sorted = samples.Order().ToArray();
        var rank = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }
}
