using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>
/// The latency-aware cap on offline tokens per step, without a model: a fake step cost (seconds = fixed + perToken ×
/// tokens) stands in for the backend, the scheduler learns it from the steps it observes, and the simulator plays the
/// forward pass.
/// </summary>
public class OfflineTokenCapTests
{
    // A CPU-like cost: 0.1 ms per step plus 0.1 ms per token, so a 2.05 ms budget holds 19 tokens (19.5: no rounding
    // question at the boundary).
    private const double CpuFixed = 0.1e-3, CpuPerToken = 0.1e-3;
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(2.05);
    private readonly TestSequences _sequences = new();

    [Fact]
    public void OfflineSeconds_FittedLinearCost_FillsTheBudgetLeftByOnline()
    {
        var cap = new OfflineTokenCap(TimeSpan.FromMilliseconds(3.05), null, tpotEnabled: false, reservedTokens: 2, new StepCostModel());
        Train(cap.Model, fixedSeconds: 1e-3, perToken: 0.1e-3);

        // (3.05 − 1 − 0.5) ms / 0.1 ms, whole tokens: a prefill chunk shrinks to 15 of its 100 tokens.
        Assert.Equal(15, cap.TokensWithin(cap.OfflineSeconds(Decode(5), onlineDecoding: false), start: 0, pending: 100));

        // Online alone (5.5 ms) is over budget: offline may still add 10 % of it (5 tokens).
        Assert.Equal(5, cap.TokensWithin(cap.OfflineSeconds(Decode(45), onlineDecoding: false), start: 0, pending: 100));
    }

    [Fact]
    public void OfflineSeconds_OnlineDecoding_HeldToTheTpotTargetNotTheBudget()
    {
        var cap = new OfflineTokenCap(TimeSpan.FromMilliseconds(3.05), null, tpotEnabled: true, reservedTokens: 2, new StepCostModel());
        var explicitTarget = new OfflineTokenCap(TimeSpan.FromMilliseconds(3.05), TimeSpan.FromMilliseconds(1.85), tpotEnabled: true, reservedTokens: 2, new StepCostModel());
        Train(cap.Model, fixedSeconds: 1e-3, perToken: 0.1e-3);
        Train(explicitTarget.Model, fixedSeconds: 1e-3, perToken: 0.1e-3);

        // Online decoding alone: 1.5 ms. Default target 1.05 × that leaves 0.075 ms: no token (the scheduler still gives
        // the reserve its own); 1.85 ms leaves 0.35 ms: three.
        Assert.Equal(0, cap.TokensWithin(cap.OfflineSeconds(Decode(5), onlineDecoding: true), start: 0, pending: 100));
        Assert.Equal(3, explicitTarget.TokensWithin(explicitTarget.OfflineSeconds(Decode(5), onlineDecoding: true), start: 0, pending: 100));

        // Online idle (or only prefilling): the step budget alone binds.
        Assert.Equal(15, cap.TokensWithin(cap.OfflineSeconds(Decode(5), onlineDecoding: false), start: 0, pending: 100));
    }

    [Fact]
    public void OfflineSeconds_NoBudgetNoTarget_DoesNotBind()
    {
        var noBudget = new OfflineTokenCap(null, null, tpotEnabled: false, reservedTokens: 1, new StepCostModel());
        Train(noBudget.Model, CpuFixed, CpuPerToken);

        Assert.False(noBudget.IsEnabled);
        Assert.Equal(double.PositiveInfinity, noBudget.OfflineSeconds(Decode(3), onlineDecoding: true));
    }

    [Fact]
    public void SlowStartTokens_NotFittedYet_StartsAtTheReserveAndGrowsByOnePerStep()
    {
        var cap = new OfflineTokenCap(Budget, null, tpotEnabled: true, reservedTokens: 3, new StepCostModel());
        var noReserve = new OfflineTokenCap(Budget, null, tpotEnabled: true, reservedTokens: 0, new StepCostModel());

        Assert.Equal(3, cap.SlowStartTokens);
        Assert.Equal(1, noReserve.SlowStartTokens); // never zero: offline alone must still advance
        for (var i = 0; i < 5; i++)
        {
            cap.Model.Observe(Decode(10), 1e-3); // one size only: no fit
        }

        Assert.False(cap.Model.IsFitted);
        Assert.Equal(8, cap.SlowStartTokens);
    }

    [Fact]
    public void Schedule_BudgetBeforeTheFit_OfflineStartsSlowInsteadOfFillingEverySlot()
    {
        var (capped, _) = Create(maxRunning: 64, reserve: 0.1, blocks: 4000);
        var (uncapped, _) = Create(maxRunning: 64, reserve: 0.1, blocks: 4000, budgetMs: null);
        for (var i = 0; i < 200; i++)
        {
            capped.Add(_sequences.New(TrafficClass.Offline, 1, 300));
            uncapped.Add(_sequences.New(TrafficClass.Offline, 1, 300));
        }

        Assert.Equal(64, uncapped.Schedule().TokenCount);
        var tokens = new List<int>();
        while (!capped.Policy.Cap.Model.IsFitted)
        {
            var plan = capped.Schedule();
            tokens.Add(plan.TokenCount);
            capped.ObserveStep(StepSeconds(plan.TokenCount));
            SchedulerSimulator.Advance(capped, plan);
        }

        Assert.Equal(Enumerable.Range(7, tokens.Count), tokens); // 7 reserved slots of 64, then one more per step
        Assert.True(tokens.Count < 20, $"the fit took {tokens.Count} steps");
        Assert.Equal(19, capped.Schedule().TokenCount); // fitted: the budget holds 19 tokens
    }

    [Fact]
    public void Schedule_LinearStepCost_PredictedStepTimeStaysWithinTheBudget()
    {
        // A loose TPOT target (10 ms), so the step budget is what binds while the online sequences decode.
        var (scheduler, _) = Create(maxRunning: 64, reserve: 0.1, blocks: 4000, tpotMs: 10);
        for (var i = 0; i < 3; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Online, 4, 2000));
        }

        for (var i = 0; i < 200; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 4, 300));
        }

        var uncappedSteps = 0;
        for (var step = 0; step < 400; step++)
        {
            var plan = scheduler.Schedule();
            if (scheduler.Policy.Cap.Model.IsFitted)
            {
                // Within the budget, and filled up to it: a cap that starved offline would pass the first check alone.
                var maxTokens = (int)((Budget.TotalSeconds - CpuFixed) / CpuPerToken);
                Assert.Equal(maxTokens, plan.TokenCount);
                Assert.True(StepSeconds(plan.TokenCount) <= Budget.TotalSeconds + 1e-12, $"step {step}: {plan.TokenCount} tokens");
                Assert.Equal(3, plan.Chunks.Count(c => c.Sequence.TrafficClass == TrafficClass.Online));
            }
            else
            {
                uncappedSteps++;
            }

            scheduler.ObserveStep(StepSeconds(plan.TokenCount));
            SchedulerSimulator.Advance(scheduler, plan);
            scheduler.CheckIntegrity();
        }

        Assert.True(uncappedSteps < 20, $"the fit took {uncappedSteps} steps");
        Assert.InRange(scheduler.Policy.Cap.Model.SecondsPerToken, CpuPerToken * 0.999, CpuPerToken * 1.001);
    }

    [Fact]
    public void Schedule_CapFilled_NoNewOfflineSequenceHoldsASlotItCannotAdvance()
    {
        var (scheduler, _) = Create(maxRunning: 64, reserve: 0.1, blocks: 4000);
        Train(scheduler.Policy.Cap.Model, CpuFixed, CpuPerToken);
        for (var i = 0; i < 200; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Offline, 1, 300));
        }

        for (var step = 0; step < 50; step++)
        {
            var plan = scheduler.Schedule();
            Assert.True(scheduler.RunningOf(TrafficClass.Offline) <= 19, $"step {step}: {scheduler.RunningOf(TrafficClass.Offline)} offline running");
            Assert.Equal(scheduler.RunningOf(TrafficClass.Offline), plan.Chunks.Count); // every running one advances
            scheduler.ObserveStep(StepSeconds(plan.TokenCount));
            SchedulerSimulator.Advance(scheduler, plan);
        }

        Assert.Equal(19, scheduler.RunningOf(TrafficClass.Offline)); // the other 45 slots stay free for online
    }

    [Fact]
    public void Schedule_OnlineOverBudgetAlone_OfflineReserveStillAdvancesEveryStep()
    {
        // 10 slots, 2 reserved; 8 online decodes already cost 0.9 ms against a 0.5 ms budget, so only the reserve is left.
        var (scheduler, _) = Create(maxRunning: 10, reserve: 0.2, blocks: 1000, budgetMs: 0.5);
        Train(scheduler.Policy.Cap.Model, CpuFixed, CpuPerToken);
        for (var i = 0; i < 40; i++)
        {
            scheduler.Add(_sequences.New(TrafficClass.Online, 4, 60));
        }

        var offline = Enumerable.Range(0, 6).Select(_ => _sequences.New(TrafficClass.Offline, 24, 20)).ToList();
        offline.ForEach(scheduler.Add);

        for (var step = 0; step < 400 && offline.Any(s => s.Status != SequenceStatus.Finished); step++)
        {
            var plan = scheduler.Schedule();
            var offlineLeft = offline.Count(s => s.Status != SequenceStatus.Finished);
            var advanced = plan.Chunks.Count(c => c.Sequence.TrafficClass == TrafficClass.Offline);
            Assert.True(advanced >= Math.Min(2, offlineLeft), $"step {step}: {advanced} offline sequences advanced of the 2 reserved");
            Assert.True(scheduler.RunningOf(TrafficClass.Offline) >= Math.Min(2, offlineLeft));
            scheduler.ObserveStep(StepSeconds(plan.TokenCount));
            SchedulerSimulator.Advance(scheduler, plan);
            scheduler.CheckIntegrity();
        }

        Assert.All(offline, s => Assert.Equal(SequenceStatus.Finished, s.Status));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-6)] // 1 µs per token against a 5 ms step: a GPU decode step at small batch
    public void Schedule_FlatStepCost_CapNeverBindsAndPlansMatchTheUncappedScheduler(double perToken)
    {
        // The budget (2 ms) is below the fixed cost (5 ms): no offline cut could meet it, so none is made.
        var (capped, _) = Create(maxRunning: 32, reserve: 0.1, blocks: 2000);
        var (uncapped, _) = Create(maxRunning: 32, reserve: 0.1, blocks: 2000, budgetMs: null);
        Train(capped.Policy.Cap.Model, 5e-3, perToken);
        var random = new Random(5);
        for (var step = 0; step < 600; step++)
        {
            if (random.NextDouble() < 0.3)
            {
                var cls = random.NextDouble() < 0.3 ? TrafficClass.Online : TrafficClass.Offline;
                var (prompt, output) = (random.Next(1, 40), random.Next(1, 60));
                capped.Add(_sequences.New(cls, prompt, output));
                uncapped.Add(_sequences.New(cls, prompt, output));
            }

            var a = capped.Schedule();
            var b = uncapped.Schedule();
            Assert.Equal(b.Chunks.Select(c => (c.Sequence.Request.PromptTokens.Count, c.TokenCount)), a.Chunks.Select(c => (c.Sequence.Request.PromptTokens.Count, c.TokenCount)));
            capped.ObserveStep(5e-3 + (perToken * a.TokenCount));
            SchedulerSimulator.Advance(capped, a);
            SchedulerSimulator.Advance(uncapped, b);
        }

        Assert.True(capped.Policy.Cap.Model.IsFitted);
        // 5 % of a 5 ms step buys 250 tokens at 1 µs each.
        Assert.True(capped.Policy.Cap.TokensWithin(capped.Policy.Cap.OfflineSeconds(Decode(32), onlineDecoding: true), 0, 1000) > 200);
    }

    [Fact]
    public void RandomizedMixedRun_CapActive_NoClassStarvesAndBlocksBalance()
    {
        var random = new Random(42);
        var (scheduler, blocks) = Create(maxRunning: 24, reserve: 0.1, blocks: 120, blockSize: 4, budgetMs: 1);
        var all = new List<Sequence>();
        var offlineAdvanced = new List<int>();
        var capSteps = 0;
        for (var step = 0; step < 5000 && (step < 600 || scheduler.HasWork); step++)
        {
            if (step < 600 && random.NextDouble() < 0.5)
            {
                var cls = random.NextDouble() < 0.5 ? TrafficClass.Online : TrafficClass.Offline;
                var s = _sequences.New(cls, random.Next(1, 40), random.Next(1, 50));
                all.Add(s);
                scheduler.Add(s);
            }

            var plan = scheduler.Schedule();
            capSteps += scheduler.Policy.Cap.Model.IsFitted && scheduler.WaitingOf(TrafficClass.Offline) > 0 ? 1 : 0;

            // A noisy CPU-like cost, so the fit works from imperfect data as it would on a real machine.
            scheduler.ObserveStep(StepSeconds(plan.TokenCount) * (0.8 + (0.4 * random.NextDouble())));
            SchedulerSimulator.Advance(scheduler, plan);
            scheduler.CheckIntegrity();
            offlineAdvanced.Add(plan.Chunks.Count(c => c.Sequence.TrafficClass == TrafficClass.Offline));
        }

        Assert.All(all, s => Assert.Equal(SequenceStatus.Finished, s.Status));
        Assert.Equal(120, blocks.FreeBlocks);
        Assert.True(capSteps > 100, $"the cap held offline back in only {capSteps} steps");

        // Offline advanced in every window of 50 steps of the arrival phase (the reserve at work under the cap).
        Assert.True(offlineAdvanced.Chunk(50).Take(12).All(w => w.Sum() > 0));
    }

    [Fact]
    public void EffectiveStepTimeBudget_OnlyATtftTarget_IsHalfOfIt()
    {
        var options = new EngineOptions { OnlineTtftSlo = TimeSpan.FromMilliseconds(8) };

        Assert.Equal(TimeSpan.FromMilliseconds(4), options.EffectiveStepTimeBudget);
        Assert.Equal(TimeSpan.FromMilliseconds(3), (options with { StepTimeBudget = TimeSpan.FromMilliseconds(3) }).EffectiveStepTimeBudget);
        Assert.Null(new EngineOptions().EffectiveStepTimeBudget);
        Assert.Throws<ArgumentOutOfRangeException>(() => (options with { StepTimeBudget = TimeSpan.Zero }).Validate());
    }

    private static double StepSeconds(int tokens) => CpuFixed + (CpuPerToken * tokens);

    private static StepShape Decode(int tokens) => new(tokens, 0, 0);

    /// <summary>Feeds the model steps of every size from 1 to 64 tokens at the given exact cost.</summary>
    private static void Train(StepCostModel model, double fixedSeconds, double perToken)
    {
        for (var tokens = 1; tokens <= 64; tokens++)
        {
            model.Observe(Decode(tokens), fixedSeconds + (perToken * tokens));
        }
    }

    private (Scheduler, BlockManager) Create(int maxRunning, double reserve, int blocks, int blockSize = 16, double? budgetMs = 2.05, double? tpotMs = null)
    {
        var options = new EngineOptions
        {
            MaxBatchTokens = 4096,
            BlockSize = blockSize,
            NumKvBlocks = blocks,
            MaxRunningSequences = maxRunning,
            OfflineReservedShare = reserve,
            BatchWindow = TimeSpan.Zero,
            StepTimeBudget = budgetMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
            OnlineTpotSlo = tpotMs is { } t ? TimeSpan.FromMilliseconds(t) : null,
        };
        var manager = new BlockManager(blocks, blockSize, 0);
        return (new Scheduler(options, manager), manager);
    }
}
