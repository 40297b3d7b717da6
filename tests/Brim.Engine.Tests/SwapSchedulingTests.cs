using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>
/// The scheduler's swap decisions without a model, against a simulated KV memory that records which (sequence,
/// position) each cache and swap slot holds: every chunk must find exactly its own K/V before it runs, so a swap copied
/// in the wrong order, to the wrong block, or into a block someone else still uses is caught.
/// </summary>
public class SwapSchedulingTests
{
    private const int BlockSize = 4;
    private readonly TestSequences _sequences = new();

    [Fact]
    public void RandomizedMixedRun_SwapsRecomputesAndCancels_BothPoolsBalanceAndKvStaysIntact()
    {
        var random = new Random(2024);
        const int deviceBlocks = 40, hostBlocks = 24;
        var (scheduler, blocks, host) = Create(deviceBlocks, hostBlocks);
        var memory = new KvMemory(deviceBlocks, hostBlocks);
        var all = new List<Sequence>();
        int cancelledWhileSwapped = 0, maxSwapped = 0;
        for (var step = 0; step < 5000 && (step < 600 || scheduler.HasWork); step++)
        {
            if (step < 600 && random.NextDouble() < 0.4)
            {
                var cls = random.NextDouble() < 0.5 ? TrafficClass.Online : TrafficClass.Offline;
                var s = _sequences.New(cls, random.Next(1, 30), random.Next(1, 50));
                all.Add(s);
                scheduler.Add(s);
            }

            if (random.NextDouble() < 0.05)
            {
                var live = all.Where(s => s.Status != SequenceStatus.Finished).ToList();
                if (live.Count > 0)
                {
                    var victim = live[random.Next(live.Count)];
                    cancelledWhileSwapped += victim.Status == SequenceStatus.Swapped ? 1 : 0;
                    scheduler.Finish(victim);
                }
            }

            var plan = scheduler.Schedule();
            memory.Run(plan);
            SchedulerSimulator.Advance(scheduler, plan);
            scheduler.CheckIntegrity();
            maxSwapped = Math.Max(maxSwapped, scheduler.SwappedCount);
        }

        Assert.All(all, s => Assert.Equal(SequenceStatus.Finished, s.Status));
        Assert.True(scheduler.SwapPreemptions > 0, "the small cache must force swaps");
        Assert.True(scheduler.RecomputePreemptions > 0, "the small host pool must force recomputes too");
        Assert.True(cancelledWhileSwapped > 0, "some cancellations must hit swapped sequences");
        Assert.True(maxSwapped > 1);
        Assert.True(memory.SwappedIn > 0);
        Assert.Equal(deviceBlocks, blocks.FreeBlocks);
        Assert.Equal(hostBlocks, host.FreeBlocks);
    }

    [Fact]
    public void Schedule_SwappedSequence_ResumesBeforeANewRequestOfItsClass()
    {
        // Four blocks of 4 positions. Both sequences prefill 6 tokens (2 blocks each); at the 4th step the online one
        // needs a 3rd block and the offline one is swapped out with its 8 computed positions.
        var (scheduler, blocks, host) = Create(deviceBlocks: 4, hostBlocks: 8);
        var memory = new KvMemory(4, 8);
        var first = _sequences.New(TrafficClass.Online, promptLength: 6, maxTokens: 10);
        var second = _sequences.New(TrafficClass.Offline, promptLength: 6, maxTokens: 10);
        scheduler.Add(first);
        scheduler.Add(second);
        for (var i = 0; i < 4; i++)
        {
            Step();
        }

        Assert.Equal(SequenceStatus.Swapped, second.Status);
        Assert.Equal(2, second.HostBlocks.Count);
        Assert.Equal(8, second.ComputedTokens);

        // A new offline request that would fit beside the online one waits: the swapped sequence holds the claim.
        var newcomer = _sequences.New(TrafficClass.Offline, promptLength: 6, maxTokens: 2);
        scheduler.Add(newcomer);
        while (first.Status != SequenceStatus.Finished)
        {
            Step();
            Assert.Equal(SequenceStatus.Waiting, newcomer.Status);
        }

        // The swapped one comes back (3 blocks: no recompute, its computed tokens are intact); the newcomer's 2 do not fit.
        Step();
        Assert.Equal(9, second.ComputedTokens);
        Assert.Equal(SequenceStatus.Running, second.Status);
        Assert.Equal(SequenceStatus.Waiting, newcomer.Status);
        Assert.Equal(0, host.UsedBlocks);
        Assert.Equal(1, second.Preemptions);
        while (scheduler.HasWork)
        {
            Step();
        }

        Assert.Equal(4, blocks.FreeBlocks);

        void Step()
        {
            var plan = scheduler.Schedule();
            memory.Run(plan);
            SchedulerSimulator.Advance(scheduler, plan);
            scheduler.CheckIntegrity();
        }
    }

    private static (Scheduler, BlockManager Device, BlockManager Host) Create(int deviceBlocks, int hostBlocks)
    {
        var options = new EngineOptions
        {
            MaxBatchTokens = 48,
            BlockSize = BlockSize,
            NumKvBlocks = deviceBlocks,
            MaxRunningSequences = 10,
            OfflineReservedShare = 0.2,
            BatchWindow = TimeSpan.Zero,
        };
        var device = new BlockManager(deviceBlocks, BlockSize, 0);
        var host = new BlockManager(hostBlocks, BlockSize, 0);
        var policy = new PreemptionPolicy(host, bytesPerBlock: 1024, copyBytesPerSecond: double.PositiveInfinity);
        return (new Scheduler(options, device, preemption: policy), device, host);
    }

    /// <summary>What each KV slot holds, as a (sequence, position) tag; what a backend's cache and swap space would hold.</summary>
    private sealed class KvMemory(int deviceBlocks, int hostBlocks)
    {
        private readonly long[][] _device = NewBlocks(deviceBlocks);
        private readonly long[][] _host = NewBlocks(hostBlocks);

        public int SwappedIn { get; private set; }

        /// <summary>Copies in plan order, then checks every chunk's context and writes the chunk's own positions.</summary>
        public void Run(SchedulerOutput plan)
        {
            foreach (var swap in plan.Swaps)
            {
                if (swap.ToHost)
                {
                    _device[swap.DeviceBlock].CopyTo(_host[swap.HostBlock], 0);
                }
                else
                {
                    _host[swap.HostBlock].CopyTo(_device[swap.DeviceBlock], 0);
                    SwappedIn++;
                }
            }

            foreach (var (seq, n) in plan.Chunks)
            {
                for (var p = 0; p < seq.ComputedTokens; p++)
                {
                    var held = _device[seq.Blocks[p / BlockSize]][p % BlockSize];
                    Assert.True(held == Tag(seq, p), $"{seq}: position {p} holds {held}, expected {Tag(seq, p)}");
                }
            }

            // Written after every check: a step's chunks all read the cache as the previous step and the swaps left it.
            foreach (var (seq, n) in plan.Chunks)
            {
                for (var p = seq.ComputedTokens; p < seq.ComputedTokens + n; p++)
                {
                    _device[seq.Blocks[p / BlockSize]][p % BlockSize] = Tag(seq, p);
                }
            }
        }

        private static long Tag(Sequence seq, int position) => (seq.ArrivalOrder * 100_000) + position + 1;

        private static long[][] NewBlocks(int count) => Enumerable.Range(0, count).Select(_ => new long[BlockSize]).ToArray();
    }
}
