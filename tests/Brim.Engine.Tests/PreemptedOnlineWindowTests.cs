using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>
/// The batch window of an online sequence that was preempted starts again at its preemption: it waits for free blocks
/// like a new arrival (up to the window) before an offline sequence above the reserve must step aside. Measured from its
/// arrival instead, an online sequence preempted after running for longer than the window would displace offline work
/// at once, every time — and push offline below what it could run between online preemptions.
/// </summary>
public class PreemptedOnlineWindowTests
{
    private const int BlockSize = 4;
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(10);
    private readonly ManualClock _clock = new();
    private readonly TestSequences _sequences = new();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Schedule_PreemptedOnlineSequence_WaitsOutAFreshWindowBeforeDisplacingOffline(bool swap)
    {
        // 8 blocks of 4 positions. Two online sequences grow until the older needs a block only the newer can give.
        var scheduler = Create(swap);
        var older = _sequences.New(TrafficClass.Online, promptLength: 8, maxTokens: 60);
        var newer = _sequences.New(TrafficClass.Online, promptLength: 8, maxTokens: 60);
        scheduler.Add(older);
        scheduler.Add(newer);
        _clock.Advance(TimeSpan.FromSeconds(1)); // both have been in the engine far longer than the window
        for (var step = 0; step < 40 && newer.Preemptions == 0; step++)
        {
            Step(scheduler);
        }

        Assert.Equal(1, newer.Preemptions);
        Assert.Equal(0, older.Preemptions);
        Assert.Equal(swap ? SequenceStatus.Swapped : SequenceStatus.Waiting, newer.Status);

        // Two short offline requests fit the blocks left, which the preempted sequence's 17 tokens do not.
        var first = _sequences.New(TrafficClass.Offline, promptLength: 1, maxTokens: 60);
        var second = _sequences.New(TrafficClass.Offline, promptLength: 1, maxTokens: 60);
        scheduler.Add(first);
        scheduler.Add(second);
        Step(scheduler);
        Assert.Equal(SequenceStatus.Running, first.Status);
        Assert.Equal(SequenceStatus.Running, second.Status);
        Assert.NotEqual(SequenceStatus.Running, newer.Status);

        // Still within the window since the preemption: offline keeps both slots.
        Step(scheduler);
        Assert.Equal(0, second.Preemptions);
        Assert.NotEqual(SequenceStatus.Running, newer.Status);

        // Past it: the newest offline sequence above the reserve (one slot) steps aside for the online one.
        _clock.Advance(Window);
        var plan = scheduler.Schedule();
        Assert.Equal([second], plan.Preempted);
        Assert.Equal(0, first.Preemptions);
        SchedulerSimulator.Advance(scheduler, plan);
        scheduler.CheckIntegrity();
    }

    private static void Step(Scheduler scheduler)
    {
        var plan = scheduler.Schedule();
        SchedulerSimulator.Advance(scheduler, plan);
        scheduler.CheckIntegrity();
    }

    private Scheduler Create(bool swap)
    {
        var options = new EngineOptions
        {
            BlockSize = BlockSize,
            NumKvBlocks = 8,
            MaxRunningSequences = 4,
            MaxBatchTokens = 64,
            OfflineReservedShare = 0.25,
            BatchWindow = Window,
        };
        var policy = swap ? new PreemptionPolicy(new BlockManager(16, BlockSize, 0), bytesPerBlock: 1024, copyBytesPerSecond: double.PositiveInfinity) : null;
        return new Scheduler(options, new BlockManager(8, BlockSize, 0), _clock, policy);
    }
}
