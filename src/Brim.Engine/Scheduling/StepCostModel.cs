namespace Brim.Engine.Scheduling;

/// <summary>
/// What a step costs as a function of the tokens in it, learned from the engine's own steps: an exponentially weighted
/// least-squares fit of <c>seconds ≈ FixedSeconds + SecondsPerToken × tokens</c>. On a CPU backend step time grows with
/// the tokens (the per-token term dominates); on a GPU at small batch a decode step reads every weight once whatever the
/// batch (the fixed term dominates). The weighting forgets old steps, so the fit follows a machine whose speed changes.
/// Not thread-safe: the engine's step loop owns it.
/// </summary>
public sealed class StepCostModel
{
    /// <summary>Weight kept by the past at each new step: a memory of about 1 / (1 − 0.99) = 100 steps.</summary>
    private const double Forgetting = 0.99;

    /// <summary>Steps observed before the fit is trusted.</summary>
    private const int MinObservations = 16;

    /// <summary>
    /// Least weighted variance of the tokens per step (tokens²) the slope needs: steps that all carry about the same
    /// number of tokens say nothing about the cost of one more token, so the last good fit stays.
    /// </summary>
    private const double MinTokenVariance = 0.25;

    private double _weight, _sumTokens, _sumSeconds, _sumTokens2, _sumTokensSeconds;
    private int _observations;

    /// <summary>Steps observed so far.</summary>
    public int Observations => _observations;

    /// <summary>Whether enough steps of different sizes were seen to trust <see cref="FixedSeconds"/> and <see cref="SecondsPerToken"/>.</summary>
    public bool IsFitted { get; private set; }

    /// <summary>The cost of a step regardless of its tokens (kernel launches, weight reads at small batch, host work).</summary>
    public double FixedSeconds { get; private set; }

    /// <summary>The cost of one more token in a step (never negative).</summary>
    public double SecondsPerToken { get; private set; }

    /// <summary>The predicted duration of a step of <paramref name="tokens"/> tokens; 0 until fitted.</summary>
    public double PredictSeconds(int tokens) => IsFitted ? FixedSeconds + (SecondsPerToken * tokens) : 0;

    public void Observe(int tokens, double seconds)
    {
        if (tokens <= 0 || !double.IsFinite(seconds) || seconds < 0)
        {
            return;
        }

        _weight = (Forgetting * _weight) + 1;
        _sumTokens = (Forgetting * _sumTokens) + tokens;
        _sumSeconds = (Forgetting * _sumSeconds) + seconds;
        _sumTokens2 = (Forgetting * _sumTokens2) + ((double)tokens * tokens);
        _sumTokensSeconds = (Forgetting * _sumTokensSeconds) + (tokens * seconds);
        _observations++;
        Refit();
    }

    private void Refit()
    {
        var meanTokens = _sumTokens / _weight;
        var meanSeconds = _sumSeconds / _weight;
        var variance = (_sumTokens2 / _weight) - (meanTokens * meanTokens);
        if (_observations < MinObservations || variance < MinTokenVariance)
        {
            return;
        }

        var covariance = (_sumTokensSeconds / _weight) - (meanTokens * meanSeconds);

        // Step time never falls as tokens grow; a negative slope is noise on a flat cost. A negative intercept is a
        // line fitted to large steps only: the cost then starts at zero and the line goes through the mean.
        var slope = Math.Max(0, covariance / variance);
        var intercept = meanSeconds - (slope * meanTokens);
        if (intercept < 0)
        {
            intercept = 0;
            slope = meanSeconds / meanTokens;
        }

        FixedSeconds = intercept;
        SecondsPerToken = slope;
        IsFitted = true;
    }
}
