using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>
/// Policy tests of the scheduler alone. A small simulator stands in for the model: each scheduled chunk is marked
/// computed and a sampled token is appended, which is all the scheduler observes of a forward pass.
/// </summary>
public class SchedulerTests
{
    private long _arrivals;

    [Fact]
    public void Schedule_LongPrompt_IsPrefilledInChunksWithinTheTokenBudget()
    {
        var (scheduler, _) = Create(maxBatchTokens: 32, blocks: 64);
        var seq = NewSequence(promptLength: 100, maxTokens: 3);
        scheduler.Add(seq);

        var chunks = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            var plan = scheduler.Schedule();
            Assert.Single(plan.Chunks);
            chunks.Add(plan.Chunks[0].TokenCount);
            Assert.Equal(i == 3, plan.Chunks[0].SamplesNextToken);
            Advance(scheduler, plan);
        }

        Assert.Equal([32, 32, 32, 4], chunks);
        Assert.Equal(101, seq.Length);
    }

    [Fact]
    public void Schedule_DecodesGoBeforePrefillChunks()
    {
        var (scheduler, _) = Create(maxBatchTokens: 16, blocks: 64);
        var decoders = Enumerable.Range(0, 4).Select(_ => NewSequence(promptLength: 3, maxTokens: 50)).ToList();
        decoders.ForEach(scheduler.Add);
        Advance(scheduler, scheduler.Schedule()); // prefill all four
        var longPrompt = NewSequence(promptLength: 200, maxTokens: 5);
        scheduler.Add(longPrompt);

        for (var step = 0; step < 5; step++)
        {
            var plan = scheduler.Schedule();
            foreach (var d in decoders)
            {
                Assert.Contains(plan.Chunks, c => c.Sequence == d && c.TokenCount == 1);
            }

            Assert.True(plan.TokenCount <= 16);
            Advance(scheduler, plan);
        }
    }

    [Fact]
    public void Schedule_CacheFull_PreemptsNewestAndRecomputesLater()
    {
        // 6 blocks of 4 positions: two sequences of 8-token prompts fit (2 blocks each) but cannot both grow to 16.
        var (scheduler, blocks) = Create(maxBatchTokens: 64, blocks: 6, blockSize: 4, watermark: 0);
        var older = NewSequence(promptLength: 8, maxTokens: 12);
        var newer = NewSequence(promptLength: 8, maxTokens: 12);
        scheduler.Add(older);
        scheduler.Add(newer);

        var preempted = new List<Sequence>();
        var finished = RunToEnd(scheduler, plan => preempted.AddRange(plan.Preempted));

        Assert.Contains(newer, preempted);
        Assert.DoesNotContain(older, preempted);
        Assert.Equal(2, finished.Count);
        Assert.All(finished, s => Assert.Equal(20, s.Length));
        Assert.Equal(6, blocks.FreeBlocks);
        scheduler.CheckIntegrity();
    }

    [Fact]
    public void Schedule_Continuous_NewRequestJoinsWhileOthersRun()
    {
        var (scheduler, _) = Create(maxBatchTokens: 64, blocks: 64);
        var first = NewSequence(promptLength: 4, maxTokens: 20);
        scheduler.Add(first);
        Advance(scheduler, scheduler.Schedule());
        Advance(scheduler, scheduler.Schedule());

        var late = NewSequence(promptLength: 4, maxTokens: 2);
        scheduler.Add(late);
        var plan = scheduler.Schedule();
        Assert.Contains(plan.Chunks, c => c.Sequence == late);
        Assert.Contains(plan.Chunks, c => c.Sequence == first);
    }

    [Fact]
    public void Schedule_Static_AdmitsNextBatchOnlyWhenCurrentOneFinished()
    {
        var (scheduler, _) = Create(maxBatchTokens: 64, blocks: 64, mode: BatchingMode.Static, maxRunning: 2);
        var longOne = NewSequence(promptLength: 4, maxTokens: 10);
        var shortOne = NewSequence(promptLength: 4, maxTokens: 1);
        var waiting = NewSequence(promptLength: 4, maxTokens: 1);
        scheduler.Add(longOne);
        scheduler.Add(shortOne);
        scheduler.Add(waiting);

        var stepsBeforeThirdRan = 0;
        while (waiting.Status == SequenceStatus.Waiting)
        {
            Advance(scheduler, scheduler.Schedule());
            stepsBeforeThirdRan++;
        }

        // The slot of the short sequence stayed empty until the long one had produced all its 10 tokens.
        Assert.Equal(SequenceStatus.Finished, longOne.Status);
        Assert.Equal(11, stepsBeforeThirdRan);
    }

    [Fact]
    public void Schedule_PromptLargerThanCache_IsRejected()
    {
        var (scheduler, _) = Create(maxBatchTokens: 512, blocks: 4, blockSize: 4);
        var huge = NewSequence(promptLength: 17, maxTokens: 1);
        scheduler.Add(huge);
        var plan = scheduler.Schedule();
        Assert.Contains(huge, plan.Rejected);
        Assert.False(scheduler.HasWork);
    }

    [Fact]
    public void Schedule_RespectsMaxRunningSequences()
    {
        var (scheduler, _) = Create(maxBatchTokens: 1024, blocks: 256, maxRunning: 3);
        for (var i = 0; i < 10; i++)
        {
            scheduler.Add(NewSequence(promptLength: 5, maxTokens: 4));
        }

        var plan = scheduler.Schedule();
        Assert.Equal(3, plan.Chunks.Count);
        Assert.Equal(3, scheduler.Running.Count);
    }

    [Fact]
    public void RandomizedRun_EveryRequestFinishes_BlocksBalance()
    {
        var random = new Random(1234);
        var (scheduler, blocks) = Create(maxBatchTokens: 48, blocks: 40, blockSize: 4, maxRunning: 8);
        var all = new List<Sequence>();
        for (var i = 0; i < 60; i++)
        {
            var s = NewSequence(promptLength: random.Next(1, 40), maxTokens: random.Next(1, 30));
            all.Add(s);
            scheduler.Add(s);
        }

        var preemptions = 0;
        RunToEnd(scheduler, plan =>
        {
            preemptions += plan.Preempted.Count;
            scheduler.CheckIntegrity();
        });

        Assert.All(all, s => Assert.Equal(SequenceStatus.Finished, s.Status));
        Assert.All(all, s => Assert.Equal(s.Request.Sampling.MaxTokens, s.OutputLength));
        Assert.True(preemptions > 0, "the cache is small enough that preemption must have happened");
        Assert.Equal(40, blocks.FreeBlocks);
    }

    [Fact]
    public void Schedule_OneRequestOfManySequences_ALaterOneSequenceRequestTakesItsTurn()
    {
        // 12 sequences of one request (choices 0..11) arrive first, then a one-sequence request; 3 slots.
        var (scheduler, _) = Create(maxBatchTokens: 256, blocks: 64, maxRunning: 3);
        var big = Enumerable.Range(0, 12).Select(choice => NewSequence(promptLength: 4, maxTokens: 20, fairShareRank: choice)).ToList();
        var small = NewSequence(promptLength: 4, maxTokens: 20);
        big.ForEach(scheduler.Add);
        scheduler.Add(small);

        var first = scheduler.Schedule().Chunks.Select(c => c.Sequence).ToList();

        // The big request's first choice, the small request, then the big one's second: not the big one's first three.
        Assert.Equal([big[0], small, big[1]], first);
    }

    private (Scheduler, BlockManager) Create(
        int maxBatchTokens, int blocks, int blockSize = 16, double watermark = 0.0, BatchingMode mode = BatchingMode.Continuous, int maxRunning = 64)
    {
        var options = new EngineOptions
        {
            MaxBatchTokens = maxBatchTokens,
            BlockSize = blockSize,
            NumKvBlocks = blocks,
            BatchingMode = mode,
            MaxRunningSequences = maxRunning,
        };
        var manager = new BlockManager(blocks, blockSize, watermark);
        return (new Scheduler(options, manager), manager);
    }

    private Sequence NewSequence(int promptLength, int maxTokens, int fairShareRank = 0)
    {
        var request = new GenerationRequest
        {
            Id = new RequestId($"r{_arrivals}"),
            PromptTokens = Enumerable.Range(1, promptLength).ToArray(),
            Sampling = SamplingParams.Greedy(maxTokens),
            FairShareRank = fairShareRank,
        };
        return new Sequence(request, _arrivals++, text: null);
    }

    private static List<Sequence> Advance(Scheduler scheduler, SchedulerOutput plan) => SchedulerSimulator.Advance(scheduler, plan);

    private static List<Sequence> RunToEnd(Scheduler scheduler, Action<SchedulerOutput> onStep)
    {
        var finished = new List<Sequence>();
        for (var guard = 0; scheduler.HasWork; guard++)
        {
            Assert.True(guard < 10_000, "the scheduler made no progress");
            var plan = scheduler.Schedule();
            onStep(plan);
            finished.AddRange(Advance(scheduler, plan));
        }

        return finished;
    }
}
