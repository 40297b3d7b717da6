namespace Brim.Engine.Scheduling;

/// <summary>
/// The longest a step with online decode rows may take once offline work is added: an explicit budget
/// (<see cref="EngineOptions.OnlineTpotSlo"/>), or, by default, one learned from the online work's own time per output
/// token, so that its p99 TPOT stays within <see cref="SloFactor"/> of what it would be alone.
/// </summary>
/// <remarks>
/// Why the learned budget is what it is: a request's TPOT is the mean of the steps it decodes in. Offline work that adds
/// Δ seconds to a step adds Δ to every online request's sum in that step, so if the mean added per step is Δ̄, every
/// request's TPOT rises by about Δ̄ and so does the p99: p99 within 1.1 × alone needs Δ̄ ≤ 0.1 × p99 alone. A per-step
/// budget B adds (B − a)⁺ to a step whose online work alone takes a, so B is the largest value whose token-weighted mean
/// of (B − a)⁺ over recent online decode steps stays within that allowance (times <see cref="Margin"/>: longer steps also
/// lengthen each request's life, so it sees more of the other requests' prefills). The budget thus targets the SLO
/// itself rather than each step's own online time (which left almost no room where the online step is cheap and its p99
/// TPOT is set by prefill spikes), and it never lets a step exceed B unless the online work alone does.
/// The online work alone is not observed (offline runs beside it), so each step's share is estimated as its measured time
/// × predicted online time / predicted step time (the one <see cref="StepCostModel"/>, its bias cancelling in the ratio);
/// a request's TPOT alone is the mean of those over its decode steps. Until <see cref="WarmupRequests"/> online requests
/// have finished (and while the cost model is unfitted) there is no distribution to learn from and the budget is the
/// conservative 1 + <see cref="OfflineTokenCap.TpotTolerance"/> × the online work's own predicted step.
/// Allocation-free after construction. Not thread-safe: the engine's step loop owns it.
/// </remarks>
public sealed class TpotBudget
{
    /// <summary>Online p99 TPOT may grow to this multiple of its value alone.</summary>
    public const double SloFactor = 1.1;

    /// <summary>Share of the allowance the budget plans to use (the rest covers longer request lives, see remarks).</summary>
    public const double Margin = 0.8;

    /// <summary>Finished online requests needed before the learned budget replaces the conservative one.</summary>
    public const int WarmupRequests = 32;

    private const int RequestWindow = 256;
    private const int StepWindow = 1024;
    private const int RefitEverySteps = 16;

    private readonly double[] _aloneTpot = new double[RequestWindow];
    private readonly double[] _sortedTpot = new double[RequestWindow];
    private readonly double[] _stepAlone = new double[StepWindow];
    private readonly double[] _stepRows = new double[StepWindow];
    private readonly double[] _sortedAlone = new double[StepWindow];
    private readonly double[] _sortedRows = new double[StepWindow];
    private int _requests;
    private int _steps;
    private double? _learned;

    /// <param name="explicitBudget">A fixed budget (seconds-valued); null learns one.</param>
    public TpotBudget(TimeSpan? explicitBudget)
    {
        if (explicitBudget is { } b && b <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(explicitBudget), "a TPOT budget must be positive");
        }

        Explicit = explicitBudget;
    }

    /// <summary>The explicit budget, or null when it is learned.</summary>
    public TimeSpan? Explicit { get; }

    /// <summary>Online requests finished so far (those that decoded at least one step).</summary>
    public int FinishedRequests => _requests;

    /// <summary>The learned online p99 TPOT alone, once warmed up.</summary>
    public double? AloneP99Seconds { get; private set; }

    /// <summary>The budget in force (seconds); null while learning (the conservative per-step rule applies).</summary>
    public double? Seconds => Explicit?.TotalSeconds ?? _learned;

    /// <summary>The most a step whose online work alone takes <paramref name="onlineSeconds"/> may take.</summary>
    public double StepLimit(double onlineSeconds) =>
        Math.Max(onlineSeconds, Seconds ?? ((1 + OfflineTokenCap.TpotTolerance) * onlineSeconds));

    /// <summary>
    /// Records a step with <paramref name="onlineDecodeRows"/> online decode rows whose online work alone is estimated at
    /// <paramref name="aloneSeconds"/>.
    /// </summary>
    public void ObserveStep(double aloneSeconds, int onlineDecodeRows)
    {
        if (onlineDecodeRows <= 0 || !double.IsFinite(aloneSeconds) || aloneSeconds < 0)
        {
            return;
        }

        _stepAlone[_steps % StepWindow] = aloneSeconds;
        _stepRows[_steps % StepWindow] = onlineDecodeRows;
        _steps++;
        if (Explicit is null && AloneP99Seconds is not null && _steps % RefitEverySteps == 0)
        {
            Refit();
        }
    }

    /// <summary>Records a finished online request's TPOT alone (the mean of its decode steps' online-alone estimates).</summary>
    public void ObserveRequest(double aloneTpotSeconds)
    {
        if (!double.IsFinite(aloneTpotSeconds) || aloneTpotSeconds <= 0)
        {
            return;
        }

        _aloneTpot[_requests % RequestWindow] = aloneTpotSeconds;
        _requests++;
        if (_requests >= WarmupRequests)
        {
            var n = Math.Min(_requests, RequestWindow);
            _aloneTpot.AsSpan(0, n).CopyTo(_sortedTpot);
            var sorted = _sortedTpot.AsSpan(0, n);
            sorted.Sort();
            AloneP99Seconds = sorted[Math.Min(n - 1, (int)Math.Ceiling(0.99 * n) - 1)];
            if (Explicit is null && _learned is null)
            {
                Refit();
            }
        }
    }

    /// <summary>
    /// The largest B with Σ w·(B − a)⁺ / Σ w ≤ allowance over the recent steps (a: online alone, w: online decode rows):
    /// g(B) is piecewise linear and increasing, so walk the sorted a's until it would pass the allowance.
    /// </summary>
    private void Refit()
    {
        var n = Math.Min(_steps, StepWindow);
        if (n == 0 || AloneP99Seconds is not { } p99)
        {
            return;
        }

        var allowance = Margin * (SloFactor - 1) * p99;
        _stepAlone.AsSpan(0, n).CopyTo(_sortedAlone);
        _stepRows.AsSpan(0, n).CopyTo(_sortedRows);
        _sortedAlone.AsSpan(0, n).Sort(_sortedRows.AsSpan(0, n));
        var total = 0.0;
        for (var i = 0; i < n; i++)
        {
            total += _sortedRows[i];
        }

        // Below a[k], g(B) = Σ_{i<k} w_i (B − a_i) / W = (Wk·B − Sk) / W with Wk, Sk the weight and weighted sum so far.
        double wk = 0, sk = 0, budget = double.PositiveInfinity;
        for (var k = 0; k <= n; k++)
        {
            if (k > 0)
            {
                wk += _sortedRows[k - 1];
                sk += _sortedRows[k - 1] * _sortedAlone[k - 1];
            }

            var candidate = wk > 0 ? ((allowance * total) + sk) / wk : double.PositiveInfinity;
            var upper = k < n ? _sortedAlone[k] : double.PositiveInfinity;
            if (candidate <= upper)
            {
                budget = candidate;
                break;
            }
        }

        _learned = budget;
    }
}
