using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>The step cost fit (seconds ≈ fixed + perToken × tokens) the offline token cap relies on.</summary>
public class StepCostModelTests
{
    [Fact]
    public void Observe_NoisyLinearSteps_FitConvergesToTheTrueCost()
    {
        var random = new Random(7);
        var model = new StepCostModel();
        const double fixedCost = 0.4e-3, perToken = 0.07e-3;
        for (var i = 0; i < 400; i++)
        {
            var tokens = random.Next(1, 200);
            var noise = 1 + (0.2 * (random.NextDouble() - 0.5)); // ±10 %, as on a busy machine
            model.Observe(tokens, (fixedCost + (perToken * tokens)) * noise);
        }

        Assert.True(model.IsFitted);
        Assert.InRange(model.SecondsPerToken, perToken * 0.95, perToken * 1.05);
        Assert.InRange(model.FixedSeconds, fixedCost * 0.7, fixedCost * 1.3);
        Assert.InRange(model.PredictSeconds(100), 0.95 * (fixedCost + (100 * perToken)), 1.05 * (fixedCost + (100 * perToken)));
    }

    [Fact]
    public void Observe_StepsOfOneSize_NotFittedBecauseTheSlopeIsUnknown()
    {
        var model = new StepCostModel();
        for (var i = 0; i < 100; i++)
        {
            model.Observe(32, 2e-3);
        }

        Assert.False(model.IsFitted);
        Assert.Equal(0, model.PredictSeconds(32));
    }

    [Fact]
    public void Observe_FewerStepsThanTheMinimum_NotFittedYet()
    {
        var model = new StepCostModel();
        for (var i = 0; i < 10; i++)
        {
            model.Observe(1 + (i * 10), 1e-3 + (i * 1e-4));
        }

        Assert.False(model.IsFitted);
    }

    [Fact]
    public void Observe_MachineSlowsDown_FitFollowsTheNewCost()
    {
        var random = new Random(3);
        var model = new StepCostModel();
        for (var i = 0; i < 300; i++)
        {
            var tokens = random.Next(1, 100);
            model.Observe(tokens, 1e-4 + (1e-5 * tokens));
        }

        Assert.InRange(model.SecondsPerToken, 0.99e-5, 1.01e-5);
        for (var i = 0; i < 600; i++)
        {
            var tokens = random.Next(1, 100);
            model.Observe(tokens, 1e-4 + (3e-5 * tokens)); // three times slower per token (other work on the cores)
        }

        Assert.InRange(model.SecondsPerToken, 2.9e-5, 3.1e-5);
    }

    [Fact]
    public void Observe_FlatCostWithNoise_SlopeNeverNegative()
    {
        var random = new Random(11);
        var model = new StepCostModel();
        for (var i = 0; i < 300; i++)
        {
            var tokens = random.Next(1, 64);
            model.Observe(tokens, 5e-3 * (1 + (0.1 * (random.NextDouble() - 0.5)) - (1e-3 * tokens)));
        }

        Assert.True(model.IsFitted);
        Assert.Equal(0, model.SecondsPerToken);
        Assert.InRange(model.FixedSeconds, 4.6e-3, 5.1e-3);
    }

    [Fact]
    public void Observe_ProportionalCostFromLargeStepsOnly_InterceptNeverNegative()
    {
        var model = new StepCostModel();
        for (var i = 0; i < 50; i++)
        {
            var tokens = 100 + (i % 10);
            model.Observe(tokens, (tokens - 50) * 1e-5); // extrapolates below zero at small steps
        }

        Assert.True(model.IsFitted);
        Assert.Equal(0, model.FixedSeconds);
        Assert.True(model.SecondsPerToken > 0);
        Assert.True(model.PredictSeconds(1) > 0);
    }
}
