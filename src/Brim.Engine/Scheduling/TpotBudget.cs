namespace Brim.Engine.Scheduling;

/// <summary>
/// The longest a step with online decode rows may take once offline work is added: an explicit budget
/// (<see cref="EngineOptions.OnlineTpotSlo"/>), or, by default, one learned from the online work's own time per output
/// token, so that its p99 TPOT stays within <see cref="SloFactor"/> of what it would be alone.
/// </summary>
/// <remarks>
/// Why the learned budget is what it is: a request's TPOT is the mean of the steps it decodes in. A per-step budget B adds
/// (B − a)⁺ to a step whose online work alone takes a, so a request whose decode steps alone took a₁…aₙ ends at
/// mean(aᵢ) + mean((B − aᵢ)⁺). The budget is the largest B for which the p99 of that over the recently finished online
/// requests stays within 1 + <see cref="Margin"/> × 10 % of their p99 alone (the margin: longer steps also lengthen each
/// request's life, so it sees more of the other requests' prefills). Evaluated per request rather than on the mean step,
/// it sees that the requests in the tail are there because their steps were long (other requests' prefills), and long
/// steps take no fill, so the tail grows less than the mean; it never lets a step exceed B unless the online work alone does.
/// The online work alone is not observed (offline runs beside it), so each step's share is estimated as its measured time
/// × predicted online time / predicted step time (the one <see cref="StepCostModel"/>, its bias cancelling in the ratio).
/// Until <see cref="WarmupRequests"/> online requests have finished (and while the cost model is unfitted) there is no
/// distribution to learn from and the budget is 1 + <see cref="OfflineTokenCap.TpotTolerance"/> × the online work's own
/// predicted step; the estimate of the p99 alone may later follow the load to 1.1 × the warm-up's, no further (see
/// <see cref="Refit"/>). Not thread-safe: the engine's step loop owns it.
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
    private const int RefitEveryRequests = 4;
    private const int Bisections = 40;

    // Per finished request (a ring): its decode steps' online-alone times sorted, and their prefix sums (Σ of the first k).
    private readonly double[][] _sortedSteps = new double[RequestWindow][];
    private readonly double[][] _prefix = new double[RequestWindow][];
    private readonly double[] _aloneTpot = new double[RequestWindow];
    private readonly double[] _scratch = new double[RequestWindow];
    private int _requests;
    private double? _learned;

    /// <param name="explicitBudget">A fixed budget; null learns one.</param>
    /// <param name="learn">False keeps the conservative per-step rule for good (the policy before the learned budget, to measure against).</param>
    public TpotBudget(TimeSpan? explicitBudget, bool learn = true)
    {
        if (explicitBudget is { } b && b <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(explicitBudget), "a TPOT budget must be positive");
        }

        Explicit = explicitBudget;
        Learns = learn && explicitBudget is null;
    }

    /// <summary>Whether the budget is learned from finished online requests.</summary>
    public bool Learns { get; }

    /// <summary>The explicit budget, or null when it is learned.</summary>
    public TimeSpan? Explicit { get; }

    /// <summary>Online requests finished so far (those that decoded at least one step).</summary>
    public int FinishedRequests => _requests;

    /// <summary>The online p99 TPOT alone estimated from the recent requests' steps, once warmed up.</summary>
    public double? AloneP99Seconds { get; private set; }

    /// <summary>The online p99 TPOT alone of the warm-up's requests: the estimate may not pass 1.1 × it.</summary>
    public double? WarmupP99Seconds { get; private set; }

    /// <summary>The budget in force (seconds); null while learning (the conservative per-step rule applies).</summary>
    public double? Seconds => Explicit?.TotalSeconds ?? _learned;

    /// <summary>The most a step whose online work alone takes <paramref name="onlineSeconds"/> may take.</summary>
    public double StepLimit(double onlineSeconds) =>
        Math.Max(onlineSeconds, Seconds ?? ((1 + OfflineTokenCap.TpotTolerance) * onlineSeconds));

    /// <summary>
    /// Records a finished online request by the estimated online-alone time of each step it decoded in (its TPOT alone is
    /// their mean). Ignored when the budget is explicit.
    /// </summary>
    public void ObserveRequest(ReadOnlySpan<double> aloneStepSeconds)
    {
        if (!Learns || aloneStepSeconds.IsEmpty)
        {
            return;
        }

        var slot = _requests % RequestWindow;
        var sorted = aloneStepSeconds.ToArray();
        Array.Sort(sorted);
        var prefix = new double[sorted.Length + 1];
        for (var i = 0; i < sorted.Length; i++)
        {
            prefix[i + 1] = prefix[i] + sorted[i];
        }

        _sortedSteps[slot] = sorted;
        _prefix[slot] = prefix;
        _aloneTpot[slot] = prefix[^1] / sorted.Length;
        _requests++;
        if (_requests >= WarmupRequests && (_learned is null || _requests % RefitEveryRequests == 0))
        {
            Refit();
        }
    }

    /// <summary>
    /// The largest B with p99 over requests of (TPOT alone + mean fill at B) within the allowance: the p99 grows with B,
    /// so bisect between the shortest step seen (no fill) and the allowed p99 itself (no step may plan beyond it).
    /// </summary>
    private void Refit()
    {
        var n = Math.Min(_requests, RequestWindow);
        _aloneTpot.AsSpan(0, n).CopyTo(_scratch);
        var estimate = P99(_scratch.AsSpan(0, n));

        // The warm-up's requests decoded only in steps held to 1.05 × the online work's own step, so they ran nearly as
        // online alone would. Later estimates of the TPOT alone are not as clean: filled steps make each online request
        // live longer, so more of them run at once and each step's online work grows, and an estimate learned from that
        // raises the budget that raised it (on a CPU, where step time follows the rows, it ran away to 2 × the p99
        // alone). So the estimate may follow the load up to 10 % above the warm-up's, no further (where online load
        // really grows later, a diurnal day, that errs on online's side).
        WarmupP99Seconds ??= estimate;
        AloneP99Seconds = Math.Min(estimate, SloFactor * WarmupP99Seconds.Value);
        var p99Alone = AloneP99Seconds.Value;
        var limit = p99Alone * (1 + (Margin * (SloFactor - 1)));
        double lo = double.PositiveInfinity, hi = limit;
        for (var r = 0; r < n; r++)
        {
            lo = Math.Min(lo, _sortedSteps[r][0]);
        }

        if (RealizedP99(hi, n) <= limit)
        {
            _learned = hi;
            return;
        }

        for (var i = 0; i < Bisections && hi - lo > 1e-9; i++)
        {
            var mid = (lo + hi) / 2;
            (lo, hi) = RealizedP99(mid, n) <= limit ? (mid, hi) : (lo, mid);
        }

        _learned = lo;
    }

    /// <summary>p99 over the window's requests of mean(aᵢ) + mean((B − aᵢ)⁺) = (Σ aᵢ + k·B − Σ_{aᵢ&lt;B} aᵢ) / n.</summary>
    private double RealizedP99(double budget, int requests)
    {
        for (var r = 0; r < requests; r++)
        {
            var sorted = _sortedSteps[r];
            var prefix = _prefix[r];
            var k = sorted.AsSpan().BinarySearch(budget);
            k = k < 0 ? ~k : k;
            _scratch[r] = (prefix[^1] + (k * budget) - prefix[k]) / sorted.Length;
        }

        return P99(_scratch.AsSpan(0, requests));
    }

    /// <summary>The nearest-rank p99 (sorts <paramref name="values"/> in place).</summary>
    private static double P99(Span<double> values)
    {
        values.Sort();
        return values[Math.Min(values.Length - 1, (int)Math.Ceiling(0.99 * values.Length) - 1)];
    }
}
