using Brim.Core;

namespace Brim.Engine.Scheduling;

/// <summary>
/// How online and offline traffic share one engine: online first, offline backfills what online leaves empty, and
/// offline keeps a reserved share of the batch slots whenever it has work so it never starves. This class only
/// decides; the <see cref="Scheduler"/> acts. Offline work per step is also capped so that online time to first token
/// and time per output token stay within target (<see cref="OfflineTokenCap"/>).
/// </summary>
public sealed class TrafficPolicy
{
    private readonly EngineOptions _options;
    private double _stepSecondsAverage;

    /// <param name="costModel">The engine's one step cost model (shared with the swap-or-recompute choice); null: a new one.</param>
    public TrafficPolicy(EngineOptions options, StepCostModel? costModel = null)
    {
        _options = options;
        ReservedOfflineSlots = options.OfflineReservedShare <= 0
            ? 0
            : Math.Max(1, (int)Math.Ceiling(options.OfflineReservedShare * options.MaxRunningSequences));
        Cap = new OfflineTokenCap(
            options.EffectiveStepTimeBudget, options.OnlineTpotSlo, tpotEnabled: options.EffectiveStepTimeBudget is not null,
            ReservedOfflineSlots, costModel ?? new StepCostModel(), options.LearnOnlineTpot);
    }

    /// <summary>Slots offline keeps whenever it has work (the reserved share of <see cref="EngineOptions.MaxRunningSequences"/>).</summary>
    public int ReservedOfflineSlots { get; }

    /// <summary>Exponential moving average of recent step times: every running sequence gets one token per step, so this is the TPOT.</summary>
    public double RecentStepSeconds => _stepSecondsAverage;

    /// <summary>The offline token cap and the step cost model it learns.</summary>
    public OfflineTokenCap Cap { get; }

    /// <summary>Records a step: its time feeds the TPOT average, its time and shape the step cost model.</summary>
    public void ObserveStep(double seconds, in StepShape shape)
    {
        _stepSecondsAverage = _stepSecondsAverage == 0 ? seconds : (0.9 * _stepSecondsAverage) + (0.1 * seconds);
        Cap.Model.Observe(shape, seconds);
    }

    /// <summary>
    /// Tokens an offline sequence may take in this step: what is left of the step's offline allowance, but at least one
    /// for each of the first <see cref="ReservedOfflineSlots"/> offline sequences, so the reserve advances every step
    /// even when earlier offline prefill chunks used up the allowance.
    /// </summary>
    public int OfflineTokensFor(int allowanceLeft, int offlineSequencesPlaced) =>
        Math.Max(allowanceLeft, offlineSequencesPlaced < ReservedOfflineSlots ? 1 : 0);

    /// <summary>Slots online may not take because offline's reserve holds them.</summary>
    public int SlotsHeldForOffline(int offlineRunning, int offlineWaiting) =>
        Math.Min(ReservedOfflineSlots, offlineRunning + offlineWaiting);

    /// <summary>
    /// Whether an online request that found no slot (or no KV blocks) has waited long enough that an offline sequence
    /// above the reserve must make room for it: online never waits behind offline beyond the batch window.
    /// </summary>
    public bool OnlineWaitedPastWindow(long arrivalTimestamp, long now, TimeProvider clock) =>
        clock.GetElapsedTime(arrivalTimestamp, now) >= _options.BatchWindow;

    /// <summary>
    /// Whether new offline work should hold back (beyond its reserve) because online latency nears its SLO: the recent
    /// time per output token is above 90 % of the TPOT target, or an online request has waited past 50 % of the TTFT target.
    /// </summary>
    public bool OfflineShouldBackOff(int onlineRunning, TimeSpan oldestOnlineWait)
    {
        if (_options.OnlineTpotSlo is { } tpot && onlineRunning > 0 && _stepSecondsAverage > 0.9 * tpot.TotalSeconds)
        {
            return true;
        }

        return _options.OnlineTtftSlo is { } ttft && oldestOnlineWait > ttft / 2;
    }

    /// <summary>The order in which running sequences give up their blocks: offline before online, newest first.</summary>
    public static int VictimRank(Sequence s) => s.TrafficClass == TrafficClass.Offline ? 0 : 1;
}
