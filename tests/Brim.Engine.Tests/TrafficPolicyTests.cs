using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>
/// Online/offline policy of the scheduler, without a model: a simulator marks chunks computed and appends a token
/// per sampled chunk (all the scheduler observes of a forward pass), and a manual clock drives the batch window.
/// </summary>
public class TrafficPolicyTests
{
    private readonly ManualClock _clock = new();
    private readonly TestSequences _sequences = new();

    [Fact]
    public void Reserve_OnlineSaturation_OfflineKeepsItsShareOfSlots()
    {
        var (scheduler, _) = Create(maxRunning: 10, reserve: 0.2, blocks: 1000);
        for (var i = 0; i < 40; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Online, 4, 30));
        }

        for (var i = 0; i < 6; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 4, 30));
        }

        for (var step = 0; step < 60 && scheduler.WaitingOf(TrafficClass.Offline) + scheduler.RunningOf(TrafficClass.Offline) > 0; step++)
        {
            var plan = scheduler.Schedule();
            var offlineWork = scheduler.WaitingOf(TrafficClass.Offline) + scheduler.RunningOf(TrafficClass.Offline);
            Assert.True(
                scheduler.RunningOf(TrafficClass.Offline) >= Math.Min(2, offlineWork),
                $"step {step}: offline runs {scheduler.RunningOf(TrafficClass.Offline)} of its 2 reserved slots");
            Assert.Equal(10, scheduler.Running.Count);
            Advance(scheduler, plan);
        }
    }

    [Fact]
    public void Backfill_OnlineLeavesSlotsEmpty_OfflineFillsThem()
    {
        var (scheduler, _) = Create(maxRunning: 16, reserve: 0.1, blocks: 1000);
        scheduler.Add(_sequences.New(TrafficClass.Online, 4, 50));
        scheduler.Add(_sequences.New(TrafficClass.Online, 4, 50));
        for (var i = 0; i < 40; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 4, 50));
        }

        Advance(scheduler, scheduler.Schedule());
        Assert.Equal(2, scheduler.RunningOf(TrafficClass.Online));
        Assert.Equal(14, scheduler.RunningOf(TrafficClass.Offline));
    }

    [Fact]
    public void Headroom_OfflineLeavesSlotsFree_OnlineJoinsAtTheNextStepWithoutPreemption()
    {
        var (scheduler, _) = Create(maxRunning: 8, reserve: 0.25, blocks: 1000, window: TimeSpan.FromMilliseconds(10), headroom: 2);
        for (var i = 0; i < 20; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 4, 500));
        }

        Advance(scheduler, scheduler.Schedule());
        Assert.Equal(6, scheduler.RunningOf(TrafficClass.Offline));

        var online = _sequences.New(TrafficClass.Online, 4, 5);
        scheduler.Add(online);
        var plan = scheduler.Schedule();
        Assert.Equal(SequenceStatus.Running, online.Status); // no window wait, no preemption
        Assert.Empty(plan.Preempted);
    }

    [Fact]
    public void Headroom_OnlineSaturation_DoesNotEatIntoTheOfflineReserve()
    {
        var (scheduler, _) = Create(maxRunning: 10, reserve: 0.3, blocks: 1000, headroom: 3);
        for (var i = 0; i < 30; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Online, 4, 40));
        }

        for (var i = 0; i < 10; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 4, 40));
        }

        for (var step = 0; step < 30; step++)
        {
            var plan = scheduler.Schedule();
            Assert.True(scheduler.RunningOf(TrafficClass.Offline) >= 3, $"step {step}: offline runs {scheduler.RunningOf(TrafficClass.Offline)} of its 3 reserved slots");
            Advance(scheduler, plan);
        }
    }

    [Fact]
    public void Window_SlotsFullOfOffline_OnlineRunsOnceTheWindowHasPassed()
    {
        var (scheduler, _) = Create(maxRunning: 8, reserve: 0.25, blocks: 1000, window: TimeSpan.FromMilliseconds(10));
        for (var i = 0; i < 8; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 4, 500));
        }

        Advance(scheduler, scheduler.Schedule());
        Assert.Equal(8, scheduler.RunningOf(TrafficClass.Offline));

        var online = _sequences.New(TrafficClass.Online, 4, 5);
        scheduler.Add(online);
        _clock.Advance(TimeSpan.FromMilliseconds(4));
        Advance(scheduler, scheduler.Schedule());
        Assert.Equal(SequenceStatus.Waiting, online.Status); // within the window: offline keeps its slots

        _clock.Advance(TimeSpan.FromMilliseconds(6));
        var plan = scheduler.Schedule();
        Assert.Equal(SequenceStatus.Running, online.Status);
        Assert.Contains(plan.Preempted, s => s.TrafficClass == TrafficClass.Offline);
        Assert.Equal(7, scheduler.RunningOf(TrafficClass.Offline));
    }

    [Fact]
    public void Window_Zero_OnlinePreemptsOfflineAtOnce_ButNeverBelowTheReserve()
    {
        var (scheduler, _) = Create(maxRunning: 4, reserve: 0.5, blocks: 1000, window: TimeSpan.Zero);
        for (var i = 0; i < 4; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 4, 500));
        }

        Advance(scheduler, scheduler.Schedule());
        for (var i = 0; i < 4; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Online, 4, 500));
        }

        Advance(scheduler, scheduler.Schedule());
        Assert.Equal(2, scheduler.RunningOf(TrafficClass.Online));
        Assert.Equal(2, scheduler.RunningOf(TrafficClass.Offline)); // the reserve holds two slots
    }

    [Fact]
    public void MemoryPressure_OfflineIsPreemptedBeforeOnline()
    {
        // 12 blocks of 4 positions: four sequences of 8-token prompts take 8 blocks; growing them all needs more.
        var (scheduler, blocks) = Create(maxRunning: 8, reserve: 0.0, blocks: 12, blockSize: 4);
        var online = new[] { _sequences.New(TrafficClass.Online, 8, 20), _sequences.New(TrafficClass.Online, 8, 20) };
        var offline = new[] { _sequences.New(TrafficClass.Offline, 8, 20), _sequences.New(TrafficClass.Offline, 8, 20) };
        scheduler.Add(offline[0]);
        scheduler.Add(online[0]);
        scheduler.Add(offline[1]);
        scheduler.Add(online[1]);

        var preempted = new List<Sequence>();
        for (var step = 0; step < 12; step++)
        {
            var plan = scheduler.Schedule();
            preempted.AddRange(plan.Preempted);
            Advance(scheduler, plan);
            scheduler.CheckIntegrity();
        }

        Assert.NotEmpty(preempted);
        Assert.All(preempted, s => Assert.Equal(TrafficClass.Offline, s.TrafficClass));
        Assert.All(online, s => Assert.Equal(0, s.Preemptions));
        Assert.True(blocks.UsedBlocks <= 12);
    }

    [Fact]
    public void SloBackoff_RecentStepsNearTheTpotTarget_OfflineAdmittedOnlyUpToItsReserve()
    {
        var (scheduler, _) = Create(maxRunning: 10, reserve: 0.2, blocks: 1000, tpotSlo: TimeSpan.FromMilliseconds(20));
        scheduler.Add(_sequences.New(TrafficClass.Online, 4, 100));
        Advance(scheduler, scheduler.Schedule());
        for (var i = 0; i < 10; i++)
        {
            scheduler.ObserveStep(0.019); // 19 ms per token: above 90 % of the 20 ms target
        }

        for (var i = 0; i < 20; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 4, 100));
        }

        Advance(scheduler, scheduler.Schedule());
        Assert.Equal(2, scheduler.RunningOf(TrafficClass.Offline));

        for (var i = 0; i < 30; i++)
        {
            scheduler.ObserveStep(0.005);
        }

        Advance(scheduler, scheduler.Schedule());
        Assert.Equal(9, scheduler.RunningOf(TrafficClass.Offline));
    }

    [Fact]
    public void RandomizedMixedRun_NoClassStarves_BlocksBalance()
    {
        var random = new Random(42);
        var (scheduler, blocks) = Create(maxRunning: 12, reserve: 0.1, blocks: 60, blockSize: 4, window: TimeSpan.FromMilliseconds(2));
        var all = new List<Sequence>();
        var progressOffline = new List<int>();
        for (var step = 0; step < 3000 && (step < 400 || scheduler.HasWork); step++)
        {
            if (step < 400 && random.NextDouble() < 0.5)
            {
                var cls = random.NextDouble() < 0.6 ? TrafficClass.Online : TrafficClass.Offline;
                var s = _sequences.New(cls, random.Next(1, 30), random.Next(1, 40));
                all.Add(s);
                scheduler.Add(s);
            }

            _clock.Advance(TimeSpan.FromMilliseconds(1));
            var plan = scheduler.Schedule();
            Advance(scheduler, plan);
            scheduler.CheckIntegrity();
            progressOffline.Add(plan.Chunks.Count(c => c.Sequence.TrafficClass == TrafficClass.Offline));
        }

        Assert.All(all, s => Assert.Equal(SequenceStatus.Finished, s.Status));
        Assert.Equal(60, blocks.FreeBlocks);

        // Offline made progress in every window of 50 steps while it had work (the reserve at work).
        Assert.True(progressOffline.Chunk(50).Take(8).All(w => w.Sum() > 0));
    }

    private (Scheduler, BlockManager) Create(
        int maxRunning, double reserve, int blocks, int blockSize = 16, TimeSpan? window = null, TimeSpan? tpotSlo = null, int headroom = 0)
    {
        var options = new EngineOptions
        {
            MaxBatchTokens = 4096,
            BlockSize = blockSize,
            NumKvBlocks = blocks,
            MaxRunningSequences = maxRunning,
            OfflineReservedShare = reserve,
            BatchWindow = window ?? TimeSpan.Zero,
            OnlineTpotSlo = tpotSlo,
            OnlineHeadroomSlots = headroom,
        };
        var manager = new BlockManager(blocks, blockSize, 0);
        return (new Scheduler(options, manager, _clock), manager);
    }

    private static void Advance(Scheduler scheduler, SchedulerOutput plan) => SchedulerSimulator.Advance(scheduler, plan);
}
