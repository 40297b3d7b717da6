using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>The TPOT side's per-step budget: conservative while learning, then the largest step the p99 allowance pays for.</summary>
public class TpotBudgetTests
{
    [Fact]
    public void StepLimit_BeforeWarmup_IsTheConservativeShareOfTheOnlineStep()
    {
        var budget = new TpotBudget(null);
        Feed(budget, requests: TpotBudget.WarmupRequests - 1, aloneTpot: 10e-3);
        Fill(budget, (5e-3, 10));

        Assert.Null(budget.Seconds);
        Assert.Equal(1.05 * 5e-3, budget.StepLimit(5e-3), 12);
    }

    [Fact]
    public void Seconds_UniformOnlineSteps_IsTheStepPlusTheMarginedAllowance()
    {
        var budget = new TpotBudget(null);
        Fill(budget, (5e-3, 10));
        Feed(budget, requests: TpotBudget.WarmupRequests, aloneTpot: 10e-3);

        // p99 alone 10 ms: the mean step may grow by 0.8 × 10 % of it.
        Assert.Equal(10e-3, budget.AloneP99Seconds!.Value, 12);
        Assert.Equal(5e-3 + (TpotBudget.Margin * 0.1 * 10e-3), budget.Seconds!.Value, 9);
    }

    [Fact]
    public void Seconds_SpikySteps_MeanFillStaysWithinTheAllowance()
    {
        // Half the online rows are in 4 ms steps, half in 8 ms ones (prefill spikes): a budget of B fills only the short
        // steps, so B − 4 ms may be twice the allowance.
        var budget = new TpotBudget(null);
        Fill(budget, (4e-3, 20), (8e-3, 20));
        Feed(budget, requests: 64, aloneTpot: 10e-3);

        var allowance = TpotBudget.Margin * 0.1 * 10e-3;
        Assert.Equal(4e-3 + (2 * allowance), budget.Seconds!.Value, 9);
        Assert.Equal(8e-3, budget.StepLimit(8e-3), 12); // a step online alone makes longer is its own
    }

    [Fact]
    public void Seconds_Explicit_IsFixedWhateverTheOnlineWork()
    {
        var budget = new TpotBudget(TimeSpan.FromMilliseconds(12));
        Fill(budget, (4e-3, 20));
        Feed(budget, requests: 64, aloneTpot: 5e-3);

        Assert.Equal(12e-3, budget.Seconds!.Value, 12);
        Assert.Equal(12e-3, budget.StepLimit(4e-3), 12);
        Assert.Equal(15e-3, budget.StepLimit(15e-3), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TpotBudget(TimeSpan.Zero));
    }

    private static void Feed(TpotBudget budget, int requests, double aloneTpot)
    {
        for (var i = 0; i < requests; i++)
        {
            budget.ObserveRequest(aloneTpot);
        }
    }

    private static void Fill(TpotBudget budget, params (double Seconds, int Rows)[] kinds)
    {
        for (var i = 0; i < 512; i++)
        {
            var (seconds, rows) = kinds[i % kinds.Length];
            budget.ObserveStep(seconds, rows);
        }
    }
}
