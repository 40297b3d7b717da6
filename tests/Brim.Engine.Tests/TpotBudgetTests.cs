using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>The TPOT side's per-step budget: conservative while learning, then the largest step the p99 allowance pays for.</summary>
public class TpotBudgetTests
{
    private const double Allowance = TpotBudget.Margin * (TpotBudget.SloFactor - 1);

    [Fact]
    public void StepLimit_BeforeWarmup_IsTheConservativeShareOfTheOnlineStep()
    {
        var budget = new TpotBudget(null);
        Feed(budget, TpotBudget.WarmupRequests - 1, Steps(5e-3, 20));

        Assert.Null(budget.Seconds);
        Assert.Equal(1.05 * 5e-3, budget.StepLimit(5e-3), 12);
    }

    [Fact]
    public void Seconds_UniformSteps_IsTheStepPlusTheMarginedAllowance()
    {
        var budget = new TpotBudget(null);
        Feed(budget, TpotBudget.WarmupRequests, Steps(5e-3, 20));

        // Every request alone 5 ms a token: a budget of B makes every one B, and p99 may grow by 0.8 × 10 %.
        Assert.Equal(5e-3, budget.AloneP99Seconds!.Value, 12);
        Assert.Equal(5e-3 * (1 + Allowance), budget.Seconds!.Value, 9);
    }

    [Fact]
    public void Seconds_TailMadeOfLongSteps_TheTailTakesLessFillThanTheMeanStep()
    {
        // 90 % of the requests decode in 4 ms steps; the rest spent half their steps in 12 ms ones (other requests'
        // prefills), so their TPOT alone is 8 ms and they are the p99. A budget B < 12 ms fills only their short steps:
        // 8 + (B − 4) / 2 ≤ 8 × 1.08 gives B = 4 + 2 × 0.64 ms, twice the room the mean step (almost all 4 ms) would allow.
        var budget = new TpotBudget(null);
        for (var i = 0; i < 200; i++)
        {
            var steps = i % 10 == 0 ? [.. Steps(4e-3, 10), .. Steps(12e-3, 10)] : Steps(4e-3, 20);
            budget.ObserveRequest(steps);
        }

        Assert.Equal(8e-3, budget.AloneP99Seconds!.Value, 12);
        Assert.Equal(4e-3 + (2 * Allowance * 8e-3), budget.Seconds!.Value, 7);
        Assert.Equal(12e-3, budget.StepLimit(12e-3), 12); // a step online alone makes longer is its own
    }

    [Fact]
    public void Seconds_Explicit_IsFixedWhateverTheOnlineWork()
    {
        var budget = new TpotBudget(TimeSpan.FromMilliseconds(12));
        Feed(budget, 64, Steps(4e-3, 20));

        Assert.Equal(12e-3, budget.Seconds!.Value, 12);
        Assert.Equal(12e-3, budget.StepLimit(4e-3), 12);
        Assert.Equal(15e-3, budget.StepLimit(15e-3), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TpotBudget(TimeSpan.Zero));
    }

    [Fact]
    public void AloneP99_LaterRequestsLongerThanTheWarmup_FollowsThemOnlyToATenthAbove()
    {
        var budget = new TpotBudget(null);
        Feed(budget, TpotBudget.WarmupRequests, Steps(5e-3, 20));
        Feed(budget, 256, Steps(8e-3, 20)); // filled steps drew in more online work: its estimate alone grew

        Assert.Equal(5e-3, budget.WarmupP99Seconds!.Value, 12);
        Assert.Equal(5.5e-3, budget.AloneP99Seconds!.Value, 12);
        Assert.True(budget.Seconds <= 8e-3 * (1 + 1e-9), $"{budget.Seconds * 1e3:F3} ms: no fill above steps that already miss the target");
    }

    private static double[] Steps(double seconds, int count) => Enumerable.Repeat(seconds, count).ToArray();

    private static void Feed(TpotBudget budget, int requests, double[] steps)
    {
        for (var i = 0; i < requests; i++)
        {
            budget.ObserveRequest(steps);
        }
    }
}
