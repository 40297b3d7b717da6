namespace Brim.Engine.Scheduling;

/// <summary>
/// What a step costs, by kind of work, learned from the engine's own steps: an exponentially weighted least-squares fit of
/// <c>seconds ≈ FixedSeconds + DecodeSecondsPerToken × decode + PrefillSecondsPerToken × prefill +
/// SecondsPerAttentionPosition × positions read</c>. The kinds differ because the hardware does: on a GPU a decode row
/// is nearly free while the step is bandwidth-bound (every weight is read once whatever the batch), a prefill token costs
/// compute, and attention grows with context; on a CPU every token costs about the same. The one model serves the offline
/// step-time cap (<see cref="OfflineTokenCap"/>) and the swap-or-recompute choice (<see cref="PreemptionPolicy"/>).
/// </summary>
/// <remarks>
/// Robust to what the engine happens to run: a term the steps seen so far cannot tell apart (no prefill at all, attention
/// that only grows with the tokens) is dropped instead of fitted to noise — the fit falls back, in order, to per-kind
/// tokens without attention, one token cost plus attention, and one token cost for all tokens (the single-slope fit the
/// engine used before), and keeps its last good fit when even that has no spread. A coefficient is never negative. A
/// step far off the prediction (a GC pause, another process on the cores) counts with a weight shrunk in proportion, so
/// one outlier cannot drag the fit, while a lasting change raises the typical residual and is followed within a few steps.
/// The weighting forgets old steps (memory of about 100), so the fit follows a machine whose speed changes. Observing
/// allocates nothing. Not thread-safe: the engine's step loop owns it.
/// </remarks>
public sealed class StepCostModel
{
    /// <summary>Weight kept by the past at each new step: a memory of about 1 / (1 − 0.99) = 100 steps.</summary>
    private const double Forgetting = 0.99;

    /// <summary>Steps observed before the fit is trusted.</summary>
    private const int MinObservations = 16;

    /// <summary>Least weighted variance of the tokens per step (tokens²) the single-slope fallback needs.</summary>
    private const double MinTokenVariance = 0.25;

    /// <summary>
    /// A term whose (scaled) Cholesky pivot falls below this is the others in disguise — constant, or a mix of them — and
    /// its coefficient would be noise: that set of terms is not used.
    /// </summary>
    private const double MinRelativePivot = 1e-6;

    /// <summary>A step off the prediction by more than this many typical residuals (or a quarter of the prediction) counts less.</summary>
    private const double OutlierFactor = 4;

    private const double ResidualDecay = 0.9;

    // Base terms: 1, decode tokens, prefill tokens, attention positions. Weighted sums of their products and with seconds.
    private const int Terms = 4;
    private readonly double[] _xx = new double[Terms * Terms];
    private readonly double[] _xy = new double[Terms];
    private double _typicalResidual;
    private int _observations;

    /// <summary>Steps observed so far.</summary>
    public int Observations => _observations;

    /// <summary>Whether enough steps of different sizes were seen to trust the coefficients.</summary>
    public bool IsFitted { get; private set; }

    /// <summary>The cost of a step regardless of its tokens (kernel launches, weight reads at small batch, host work).</summary>
    public double FixedSeconds { get; private set; }

    /// <summary>The cost of one more decode row.</summary>
    public double DecodeSecondsPerToken { get; private set; }

    /// <summary>The cost of one more prefill token, attention aside.</summary>
    public double PrefillSecondsPerToken { get; private set; }

    /// <summary>The cost of one more KV position read by attention (0 where the steps could not tell it from the tokens).</summary>
    public double SecondsPerAttentionPosition { get; private set; }

    /// <summary>The cost of one more token of the dearer kind.</summary>
    public double SecondsPerToken => Math.Max(DecodeSecondsPerToken, PrefillSecondsPerToken);

    /// <summary>Which terms the current fit uses.</summary>
    public StepCostTerms FitTerms { get; private set; }

    /// <summary>The predicted duration of a step of this shape; 0 until fitted.</summary>
    public double PredictSeconds(in StepShape step) => IsFitted
        ? FixedSeconds + (DecodeSecondsPerToken * step.DecodeTokens) + (PrefillSecondsPerToken * step.PrefillTokens)
          + (SecondsPerAttentionPosition * step.AttentionPositions)
        : 0;

    /// <summary>What this work adds to a step's predicted time (the fixed cost aside); 0 until fitted.</summary>
    public double MarginalSeconds(in StepShape work) => IsFitted ? PredictSeconds(work) - FixedSeconds : 0;

    /// <summary>
    /// The step time prefilling <paramref name="tokens"/> tokens from position 0 adds (the fixed cost aside: its chunks
    /// share steps with other work); null until fitted. What recomputing a preempted sequence costs.
    /// </summary>
    public double? PrefillSeconds(int tokens) => IsFitted
        ? (PrefillSecondsPerToken * tokens) + (SecondsPerAttentionPosition * StepShape.AttentionOf(0, tokens))
        : null;

    public void Observe(in StepShape step, double seconds)
    {
        if (step.Tokens <= 0 || !double.IsFinite(seconds) || seconds < 0)
        {
            return;
        }

        var weight = 1.0;
        if (IsFitted)
        {
            var predicted = PredictSeconds(step);
            var residual = Math.Abs(seconds - predicted);
            var limit = Math.Max(OutlierFactor * _typicalResidual, 0.25 * predicted);
            if (residual > limit && limit > 0)
            {
                weight = limit / residual;
            }

            _typicalResidual = (ResidualDecay * _typicalResidual) + ((1 - ResidualDecay) * residual);
        }

        Span<double> x = [1, step.DecodeTokens, step.PrefillTokens, step.AttentionPositions];
        for (var i = 0; i < Terms; i++)
        {
            for (var j = 0; j < Terms; j++)
            {
                _xx[(i * Terms) + j] = (Forgetting * _xx[(i * Terms) + j]) + (weight * x[i] * x[j]);
            }

            _xy[i] = (Forgetting * _xy[i]) + (weight * x[i] * seconds);
        }

        _observations++;
        if (_observations >= MinObservations)
        {
            Refit();
        }
    }

    private void Refit()
    {
        // Each candidate is a set of derived terms, each a combination of the base terms (rows of 4).
        Span<double> combos = stackalloc double[Terms * Terms];
        Span<double> beta = stackalloc double[Terms];
        Span<double> work = stackalloc double[(Terms * Terms) + Terms];
        foreach (var terms in (ReadOnlySpan<StepCostTerms>)[StepCostTerms.PerKindAndAttention, StepCostTerms.PerKind, StepCostTerms.TokensAndAttention])
        {
            var k = Combinations(terms, combos);
            if (Solve(combos[..(k * Terms)], k, beta[..k], work) && AllNonNegative(beta[..k]))
            {
                Adopt(terms, beta);
                return;
            }
        }

        FitTokensOnly();
    }

    private static int Combinations(StepCostTerms terms, Span<double> m)
    {
        m.Clear();
        m[0] = 1; // intercept
        switch (terms)
        {
            case StepCostTerms.PerKindAndAttention:
                m[Terms + 1] = m[(2 * Terms) + 2] = m[(3 * Terms) + 3] = 1;
                return 4;
            case StepCostTerms.PerKind:
                m[Terms + 1] = m[(2 * Terms) + 2] = 1;
                return 3;
            default: // tokens of either kind, attention
                m[Terms + 1] = m[Terms + 2] = m[(2 * Terms) + 3] = 1;
                return 3;
        }
    }

    /// <summary>
    /// Solves the weighted normal equations of the derived terms by Cholesky after scaling each term to unit diagonal (the
    /// attention term is thousands of times the token counts); false when a term is (nearly) a mix of the others.
    /// </summary>
    private bool Solve(ReadOnlySpan<double> m, int k, Span<double> beta, Span<double> work)
    {
        var g = work[..(k * k)];
        var h = work.Slice(k * k, k);
        for (var a = 0; a < k; a++)
        {
            for (var b = 0; b < k; b++)
            {
                var sum = 0.0;
                for (var i = 0; i < Terms; i++)
                {
                    for (var j = 0; j < Terms; j++)
                    {
                        sum += m[(a * Terms) + i] * _xx[(i * Terms) + j] * m[(b * Terms) + j];
                    }
                }

                g[(a * k) + b] = sum;
            }

            var hy = 0.0;
            for (var i = 0; i < Terms; i++)
            {
                hy += m[(a * Terms) + i] * _xy[i];
            }

            h[a] = hy;
        }

        Span<double> scale = stackalloc double[Terms];
        for (var a = 0; a < k; a++)
        {
            if (!(g[(a * k) + a] > 0))
            {
                return false;
            }

            scale[a] = Math.Sqrt(g[(a * k) + a]);
        }

        for (var a = 0; a < k; a++)
        {
            for (var b = 0; b < k; b++)
            {
                g[(a * k) + b] /= scale[a] * scale[b];
            }

            h[a] /= scale[a];
        }

        // In-place Cholesky: g's lower triangle becomes L.
        for (var j = 0; j < k; j++)
        {
            var d = g[(j * k) + j];
            for (var p = 0; p < j; p++)
            {
                d -= g[(j * k) + p] * g[(j * k) + p];
            }

            if (d < MinRelativePivot)
            {
                return false;
            }

            var l = Math.Sqrt(d);
            g[(j * k) + j] = l;
            for (var i = j + 1; i < k; i++)
            {
                var s = g[(i * k) + j];
                for (var p = 0; p < j; p++)
                {
                    s -= g[(i * k) + p] * g[(j * k) + p];
                }

                g[(i * k) + j] = s / l;
            }
        }

        for (var i = 0; i < k; i++)
        {
            var s = h[i];
            for (var p = 0; p < i; p++)
            {
                s -= g[(i * k) + p] * beta[p];
            }

            beta[i] = s / g[(i * k) + i];
        }

        for (var i = k - 1; i >= 0; i--)
        {
            var s = beta[i];
            for (var p = i + 1; p < k; p++)
            {
                s -= g[(p * k) + i] * beta[p];
            }

            beta[i] = s / g[(i * k) + i];
        }

        for (var a = 0; a < k; a++)
        {
            beta[a] /= scale[a];
        }

        return true;
    }

    private static bool AllNonNegative(ReadOnlySpan<double> beta)
    {
        foreach (var b in beta)
        {
            if (!(b >= 0))
            {
                return false;
            }
        }

        return true;
    }

    private void Adopt(StepCostTerms terms, ReadOnlySpan<double> beta)
    {
        FixedSeconds = beta[0];
        (DecodeSecondsPerToken, PrefillSecondsPerToken, SecondsPerAttentionPosition) = terms switch
        {
            StepCostTerms.PerKindAndAttention => (beta[1], beta[2], beta[3]),
            StepCostTerms.PerKind => (beta[1], beta[2], 0.0),
            StepCostTerms.TokensAndAttention => (beta[1], beta[1], beta[2]),
            _ => (beta[1], beta[1], 0.0),
        };
        FitTerms = terms;
        IsFitted = true;
    }

    /// <summary>The single-slope fit: seconds ≈ a + b × tokens of any kind (the engine's fit before per-kind costs).</summary>
    private void FitTokensOnly()
    {
        var weight = _xx[0];
        var meanTokens = (_xx[1] + _xx[2]) / weight;
        var meanSeconds = _xy[0] / weight;
        var tokens2 = _xx[Terms + 1] + (2 * _xx[Terms + 2]) + _xx[(2 * Terms) + 2];
        var variance = (tokens2 / weight) - (meanTokens * meanTokens);
        if (variance < MinTokenVariance)
        {
            return; // steps of one size say nothing about the cost of one more token: the last good fit stays
        }

        var covariance = ((_xy[1] + _xy[2]) / weight) - (meanTokens * meanSeconds);

        // Step time never falls as tokens grow; a negative slope is noise on a flat cost. A negative intercept is a
        // line fitted to large steps only: the cost then starts at zero and the line goes through the mean.
        var slope = Math.Max(0, covariance / variance);
        var intercept = meanSeconds - (slope * meanTokens);
        if (intercept < 0)
        {
            intercept = 0;
            slope = meanSeconds / meanTokens;
        }

        Adopt(StepCostTerms.Tokens, [intercept, slope]);
    }
}
