namespace Brim.Engine.Scheduling;

/// <summary>
/// How many offline tokens a step may carry so that online time to first token stays within target. An online request
/// that arrives during a step waits for that step and then runs its own first step, so its TTFT is about two step
/// times: where step time grows with the tokens in a step (a CPU backend), a step stuffed with offline work delays online
/// twice. The cap keeps the predicted step time — from the <see cref="StepCostModel"/> the engine fits to its own steps —
/// within a budget:
/// <c>offline tokens ≤ (budget − predicted(online tokens)) / secondsPerToken</c>.
/// Offline may always add <see cref="Tolerance"/> of the online work's own step time; where step time barely depends on
/// the tokens (a GPU at small batch) that allowance is huge and the cap never binds, since fewer tokens would not make
/// the step shorter. The cap never goes below the reserved share, nor below one token (offline never starves), and does
/// nothing when no budget is set. Until the model is fitted the allowance starts at that floor and grows by one token per
/// observed step (a slow start): offline does not fill every slot before the engine knows what a token costs, and the
/// growing steps give the fit the spread of sizes it needs.
/// Not thread-safe: the engine's step loop owns it.
/// </summary>
public sealed class OfflineTokenCap
{
    /// <summary>
    /// The slowdown offline work may always cause an online step, whatever the budget: the 10 % of issue 5's target
    /// (online p99 TTFT within 1.1× of online alone).
    /// </summary>
    public const double Tolerance = 0.1;

    private readonly double _budgetSeconds;

    /// <param name="budget">The longest a step should take while online traffic shares it; null disables the cap.</param>
    /// <param name="reservedTokens">Offline tokens every step keeps regardless (the reserved slots' decode tokens); at least one is kept.</param>
    public OfflineTokenCap(TimeSpan? budget, int reservedTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reservedTokens);
        if (budget is { } b && b <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(budget), "a step-time budget must be positive");
        }

        Budget = budget;
        _budgetSeconds = budget?.TotalSeconds ?? 0;
        ReservedTokens = Math.Max(1, reservedTokens);
    }

    /// <summary>The step-time budget, or null when the cap is off.</summary>
    public TimeSpan? Budget { get; }

    /// <summary>Offline tokens every step keeps whatever the budget says (at least one, so offline always advances).</summary>
    public int ReservedTokens { get; }

    /// <summary>The step cost learned from observed steps.</summary>
    public StepCostModel Model { get; } = new();

    /// <summary>Whether the cap is on (a budget is set).</summary>
    public bool IsEnabled => Budget is not null;

    /// <summary>
    /// The most offline tokens a step that carries <paramref name="onlineTokens"/> online tokens may add;
    /// <see cref="int.MaxValue"/> when the cap does not bind.
    /// </summary>
    public int OfflineTokens(int onlineTokens)
    {
        if (!IsEnabled)
        {
            return int.MaxValue;
        }

        if (!Model.IsFitted)
        {
            return ReservedTokens + Model.Observations;
        }

        if (Model.SecondsPerToken <= 0)
        {
            return int.MaxValue;
        }

        var online = Model.PredictSeconds(onlineTokens);
        var spare = Math.Max(_budgetSeconds - online, Tolerance * online);
        var tokens = spare / Model.SecondsPerToken;
        return tokens >= int.MaxValue ? int.MaxValue : Math.Max(ReservedTokens, (int)tokens);
    }
}
