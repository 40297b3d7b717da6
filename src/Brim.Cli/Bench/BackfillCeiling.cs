using Brim.Core.Statistics;

namespace Brim.Cli.Bench;

/// <summary>
/// An estimate of the most a backfill scheduler could reach while online p99 TPOT stays within a tolerance of online
/// alone, from the benchmark's own runs — the yardstick the unified runs are read against, as decode benchmarks are read
/// against the bandwidth floor. With online requests decoding in nearly every step, each step is a token of theirs, so
/// offline work may lengthen the average step by at most <c>tolerance × online-only p99 TPOT</c> (a request's TPOT is the
/// mean of its steps). What an offline token costs comes from two measured points: the online-only and offline-only runs'
/// mean step against the tokens each step made; the slope between them is the marginal cost of a token. Both runs'
/// steps include their own prefill, so the slope also charges offline prompts, and online prefill inflates the
/// online-only step, which lowers the slope: the estimate errs toward a higher ceiling. It is not a bound: a fill that is
/// uneven across steps can move a p99 differently from its mean.
/// </summary>
internal sealed record BackfillCeiling(
    double AllowanceSeconds, double SecondsPerToken, double OfflineTokensPerStep, double OfflineTokensPerSecond, double TotalTokensPerSecond, double ShareOfCapacity)
{
    /// <summary>The estimate at <paramref name="tolerance"/> (0.1: online p99 TPOT within 1.1 × alone); null where a run has no steps or no online TPOT, or offline tokens cost nothing measurable.</summary>
    public static BackfillCeiling? Estimate(MixedRunResult onlineOnly, MixedRunResult offlineOnly, double tolerance = 0.1)
    {
        if (onlineOnly.StepSeconds.Count == 0 || offlineOnly.StepSeconds.Count == 0 || onlineOnly.Online.Tpot.Count == 0)
        {
            return null;
        }

        var (onlineStep, onlineTokens) = PerStep(onlineOnly);
        var (offlineStep, offlineTokens) = PerStep(offlineOnly);
        var perToken = (offlineStep - onlineStep) / (offlineTokens - onlineTokens);
        if (!(offlineTokens > onlineTokens) || !(perToken > 0))
        {
            return null;
        }

        var allowance = tolerance * Quantile.Of(onlineOnly.Online.Tpot, 0.99);
        var offlinePerStep = allowance / perToken;
        var offlineRate = offlinePerStep / (onlineStep + allowance);
        var total = (onlineOnly.Online.OutputTokens / onlineOnly.Seconds) + offlineRate;
        return new BackfillCeiling(allowance, perToken, offlinePerStep, offlineRate, total, total / offlineOnly.TotalTokensPerSecond);
    }

    /// <summary>The run's mean step and the output tokens a step made on average.</summary>
    private static (double Seconds, double Tokens) PerStep(MixedRunResult run) =>
        (run.StepSeconds.Average(), (double)(run.Online.OutputTokens + run.Offline.OutputTokens) / run.StepSeconds.Count);
}
