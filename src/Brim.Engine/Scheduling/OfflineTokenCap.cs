namespace Brim.Engine.Scheduling;

/// <summary>
/// How much offline work a step may carry so that online users cannot feel it, from both online SLOs and the
/// <see cref="StepCostModel"/> the engine fits to its own steps:
/// <list type="bullet">
/// <item>time to first token: an online request that arrives during a step waits for that step and then runs its own, so
/// no step's predicted time may exceed the step budget (<see cref="Budget"/>, half the TTFT target by default) — though
/// offline may always add <see cref="Tolerance"/> of the online work's own step time (where step time barely depends
/// on the tokens that allowance is huge and the cap never binds, since fewer tokens would not make the step shorter);</item>
/// <item>time per output token: while online sequences are decoding, every step is one token of theirs, so offline work
/// may not push the predicted step above the TPOT budget (<see cref="Tpot"/>: explicit, or learned from the online work's
/// own TPOT so that its p99 stays within 1.1 × alone; a step budget alone let every online decode step grow to it, +28 %
/// TPOT on the H100).</item>
/// </list>
/// With online idle only the step budget binds, so offline gets the whole step. The scheduler spends the allowance on
/// offline decode rows first (cheap on a GPU) and shrinks offline prefill chunks to what is left, and the reserved share
/// advances whatever the allowance (never below one token a step). Until the model is fitted the allowance is a token
/// count starting at the reserve and growing by one per observed step (a slow start): offline does not fill every slot
/// before the engine knows what a token costs, and the growing steps give the fit the spread of sizes it needs.
/// Not thread-safe: the engine's step loop owns it.
/// </summary>
public sealed class OfflineTokenCap
{
    /// <summary>
    /// The slowdown offline work may always cause an online step: the 10 % of the backfill targets (online p99 TTFT and TPOT
    /// within 1.1× of online alone).
    /// </summary>
    public const double Tolerance = 0.1;

    /// <summary>
    /// The share of the online work's own step offline may add while online decodes until the TPOT budget is learned: half
    /// the 10 %. A request's TPOT is its decode steps plus its share of the other online requests' prefills that land
    /// during its life; steps 10 % longer make that life 10 % longer, so it also sees about 10 % more of those prefills,
    /// and p99 TPOT grows by more than the per-step slowdown (in simulation, 10 % per step ended at 11 % on p99, 5 % well
    /// within 10 %).
    /// </summary>
    public const double TpotTolerance = 0.05;


    /// <param name="budget">The longest a step should take while online traffic may arrive (the TTFT side); null: no step budget.</param>
    /// <param name="tpotTarget">The longest a step may take while online sequences decode; null: learned (<see cref="TpotBudget"/>).</param>
    /// <param name="tpotEnabled">Whether the TPOT side is on (with a budget or an explicit target it is).</param>
    /// <param name="reservedTokens">Offline tokens every step keeps regardless (the reserved slots' decode tokens); at least one is kept.</param>
    /// <param name="model">The engine's one step cost model.</param>
    /// <param name="learnTpot">Without a target, learn the TPOT budget (false: 1.05 × the online work's own step, always).</param>
    public OfflineTokenCap(TimeSpan? budget, TimeSpan? tpotTarget, bool tpotEnabled, int reservedTokens, StepCostModel model, bool learnTpot = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reservedTokens);
        ArgumentNullException.ThrowIfNull(model);
        if (budget is { } b && b <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(budget), "a step-time budget must be positive");
        }

        if (tpotTarget is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(tpotTarget), "a TPOT target must be positive");
        }

        Budget = budget;
        Tpot = new TpotBudget(tpotTarget, learnTpot);
        ProtectsTpot = tpotEnabled || tpotTarget is not null;
        ReservedTokens = Math.Max(1, reservedTokens);
        Model = model;
    }

    /// <summary>The step-time budget (TTFT side), or null.</summary>
    public TimeSpan? Budget { get; }

    /// <summary>The explicit online TPOT target, or null when <see cref="Tpot"/> learns it.</summary>
    public TimeSpan? TpotTarget => Tpot.Explicit;

    /// <summary>The TPOT side's per-step budget, explicit or learned.</summary>
    public TpotBudget Tpot { get; }

    /// <summary>Whether steps with online decode rows are held to the TPOT target.</summary>
    public bool ProtectsTpot { get; }

    /// <summary>Offline tokens every step keeps whatever the budget says (at least one, so offline always advances).</summary>
    public int ReservedTokens { get; }

    /// <summary>The step cost learned from observed steps (shared with the swap-or-recompute choice).</summary>
    public StepCostModel Model { get; }

    /// <summary>Whether the cap is on (a step budget or the TPOT side).</summary>
    public bool IsEnabled => Budget is not null || ProtectsTpot;

    /// <summary>Offline tokens a step may carry before the model is fitted: the reserve, plus one per observed step.</summary>
    public int SlowStartTokens => ReservedTokens + Model.Observations;

    /// <summary>
    /// Predicted seconds offline work may add to a step whose online work is <paramref name="online"/>
    /// (<paramref name="onlineDecoding"/>: some of it is online decode rows); +∞ when nothing binds or before the fit.
    /// </summary>
    public double OfflineSeconds(in StepShape online, bool onlineDecoding)
    {
        if (!IsEnabled || !Model.IsFitted)
        {
            return double.PositiveInfinity;
        }

        var onlineSeconds = Model.PredictSeconds(online);
        var spare = Budget is { } budget
            ? Math.Max(budget.TotalSeconds - onlineSeconds, Tolerance * onlineSeconds)
            : double.PositiveInfinity;
        if (onlineDecoding && ProtectsTpot)
        {
            spare = Math.Min(spare, Tpot.StepLimit(onlineSeconds) - onlineSeconds);
        }

        return spare;
    }

    /// <summary>
    /// The most tokens (≤ <paramref name="pending"/>) of a chunk starting at <paramref name="start"/> that add at most
    /// <paramref name="seconds"/> to the step: a prefill chunk shrinks to fit instead of being dropped.
    /// </summary>
    public int TokensWithin(double seconds, int start, int pending)
    {
        if (double.IsPositiveInfinity(seconds) || !Model.IsFitted)
        {
            return pending;
        }

        if (!(seconds > 0) || pending <= 0)
        {
            return 0;
        }

        var decode = pending == 1 && start > 0;
        if (decode)
        {
            return Model.MarginalSeconds(StepShape.Chunk(start, 1, decode: true)) <= seconds ? 1 : 0;
        }

        // b·n + c·(n·start + n(n+1)/2) ≤ seconds: the positive root of (c/2)n² + (b + c(start + ½))n − seconds.
        var b = Model.PrefillSecondsPerToken;
        var c = Model.SecondsPerAttentionPosition;
        var linear = b + (c * (start + 0.5));
        double n = c > 0
            ? (-linear + Math.Sqrt((linear * linear) + (2 * c * seconds))) / c
            : linear > 0 ? seconds / linear : double.PositiveInfinity;
        var tokens = n >= pending ? pending : (int)n;
        while (tokens > 0 && Model.MarginalSeconds(StepShape.Chunk(start, tokens, decode: false)) > seconds * (1 + 1e-12))
        {
            tokens--; // rounding at the boundary
        }

        return tokens;
    }
}
