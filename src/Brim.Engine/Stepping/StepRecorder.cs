using System.Diagnostics;
using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Stepping;

/// <summary>
/// Times each step and writes what it did into its <see cref="StepRecord"/>. <see cref="Start"/> runs before the
/// schedule, so a step's time includes scheduling and swap copies, and the prefix-cache counters read there and again
/// in <see cref="Record"/> give the lookups this step's admissions made.
/// </summary>
/// <remarks>Step loop only: it holds the current step's start between the two calls.</remarks>
internal sealed class StepRecorder(Scheduler scheduler, BlockManager blocks, int maxRunning)
{
    private long _started;
    private long _queriedBefore;
    private long _hitBefore;

    /// <summary>Seconds since <see cref="Start"/>.</summary>
    public double ElapsedSeconds => Stopwatch.GetElapsedTime(_started).TotalSeconds;

    public void Start()
    {
        _started = Stopwatch.GetTimestamp();
        (_queriedBefore, _hitBefore) = (blocks.QueriedTokens, blocks.HitTokens);
    }

    /// <summary>The record of a step that ran the model, read after its tokens were accepted.</summary>
    public StepRecord Record(long step, SchedulerOutput plan, StepBatch batch, int sampled, double forwardSeconds, int swappedOut, int swappedIn)
    {
        return new StepRecord(
            step, plan.Chunks.Count, batch.PrefillTokens, batch.DecodeTokens, sampled, scheduler.Running.Count, scheduler.WaitingCount,
            maxRunning, blocks.UsedBlocks, blocks.TotalBlocks, plan.Preempted.Count, forwardSeconds, ElapsedSeconds, batch.ContextTokens)
        {
            RunningOffline = scheduler.RunningOf(TrafficClass.Offline),
            WaitingOffline = scheduler.WaitingOf(TrafficClass.Offline),
            OfflineTokens = batch.OfflineTokens,
            SwappedOutBlocks = swappedOut,
            SwappedInBlocks = swappedIn,
            SwapPreemptions = scheduler.SwapPreemptions,
            PrefixQueriedTokens = (int)(blocks.QueriedTokens - _queriedBefore),
            PrefixHitTokens = (int)(blocks.HitTokens - _hitBefore),
        };
    }
}
