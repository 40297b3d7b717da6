using Brim.Engine.Scheduling;

namespace Brim.Engine.Tests;

/// <summary>
/// The one step cost fit (seconds ≈ fixed + per decode row + per prefill token + per attention position) the offline cap
/// and the swap-or-recompute choice rely on; steps of one kind fall back to the single-slope fit.
/// </summary>
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
            model.Observe(Decode(tokens), (fixedCost + (perToken * tokens)) * noise);
        }

        Assert.True(model.IsFitted);
        Assert.InRange(model.SecondsPerToken, perToken * 0.95, perToken * 1.05);
        Assert.InRange(model.FixedSeconds, fixedCost * 0.7, fixedCost * 1.3);
        Assert.InRange(model.PredictSeconds(Decode(100)), 0.95 * (fixedCost + (100 * perToken)), 1.05 * (fixedCost + (100 * perToken)));
    }

    [Fact]
    public void Observe_StepsOfOneSize_NotFittedBecauseTheSlopeIsUnknown()
    {
        var model = new StepCostModel();
        for (var i = 0; i < 100; i++)
        {
            model.Observe(Decode(32), 2e-3);
        }

        Assert.False(model.IsFitted);
        Assert.Equal(0, model.PredictSeconds(Decode(32)));
    }

    [Fact]
    public void Observe_FewerStepsThanTheMinimum_NotFittedYet()
    {
        var model = new StepCostModel();
        for (var i = 0; i < 10; i++)
        {
            model.Observe(Decode(1 + (i * 10)), 1e-3 + (i * 1e-4));
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
            model.Observe(Decode(tokens), 1e-4 + (1e-5 * tokens));
        }

        Assert.InRange(model.SecondsPerToken, 0.99e-5, 1.01e-5);
        for (var i = 0; i < 600; i++)
        {
            var tokens = random.Next(1, 100);
            model.Observe(Decode(tokens), 1e-4 + (3e-5 * tokens)); // three times slower per token (other work on the cores)
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
            model.Observe(Decode(tokens), 5e-3 * (1 + (0.1 * (random.NextDouble() - 0.5)) - (1e-3 * tokens)));
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
            model.Observe(Decode(tokens), (tokens - 50) * 1e-5); // extrapolates below zero at small steps
        }

        Assert.True(model.IsFitted);
        Assert.Equal(0, model.FixedSeconds);
        Assert.True(model.SecondsPerToken > 0);
        Assert.True(model.PredictSeconds(Decode(1)) > 0);
    }

    [Fact]
    public void Observe_MixedStepsOfKnownCost_RecoversEveryCoefficient()
    {
        // A GPU-like step: 5 ms fixed, decode rows nearly free, prefill tokens dear, attention growing with context.
        const double fixedCost = 5e-3, decode = 2e-6, prefill = 40e-6, attention = 2e-9;
        var random = new Random(1);
        var model = new StepCostModel();
        for (var i = 0; i < 300; i++)
        {
            var step = RandomStep(random);
            model.Observe(step, fixedCost + (decode * step.DecodeTokens) + (prefill * step.PrefillTokens) + (attention * step.AttentionPositions));
        }

        Assert.Equal(StepCostTerms.PerKindAndAttention, model.FitTerms);
        Assert.InRange(model.FixedSeconds, fixedCost * 0.99, fixedCost * 1.01);
        Assert.InRange(model.DecodeSecondsPerToken, decode * 0.99, decode * 1.01);
        Assert.InRange(model.PrefillSecondsPerToken, prefill * 0.99, prefill * 1.01);
        Assert.InRange(model.SecondsPerAttentionPosition, attention * 0.99, attention * 1.01);
        Assert.InRange(model.PrefillSeconds(1000)!.Value, 0.99 * ((prefill * 1000) + (attention * 500_500)), 1.01 * ((prefill * 1000) + (attention * 500_500)));
    }

    [Fact]
    public void Observe_OneStepInTwentyTenTimesSlower_FitBarelyMoves()
    {
        const double fixedCost = 1e-3, decode = 5e-6, prefill = 50e-6;
        var random = new Random(2);
        var model = new StepCostModel();
        var naive = new StepCostModel(); // no outliers: the fit the outliers should not move us far from
        for (var i = 0; i < 600; i++)
        {
            var step = RandomStep(random) with { AttentionPositions = 0 };
            var seconds = fixedCost + (decode * step.DecodeTokens) + (prefill * step.PrefillTokens);
            var outlier = i > 100 && i % 20 == 0; // a GC pause, another process on the cores
            model.Observe(step, outlier ? 10 * seconds : seconds);
            naive.Observe(step, seconds);
        }

        Assert.Equal(StepCostTerms.PerKind, model.FitTerms);
        Assert.InRange(model.PrefillSecondsPerToken, prefill * 0.85, prefill * 1.15);
        Assert.InRange(model.DecodeSecondsPerToken, 0, decode * 2);
        Assert.InRange(model.FixedSeconds, fixedCost * 0.7, fixedCost * 1.3);
    }

    [Fact]
    public void PrefillSeconds_NotFitted_IsNull()
    {
        Assert.Null(new StepCostModel().PrefillSeconds(100));
    }

    private static StepShape Decode(int tokens) => new(tokens, 0, 0);

    /// <summary>A step of 0–63 decode rows at contexts up to 2,000 and maybe a prefill chunk of up to 512 tokens.</summary>
    private static StepShape RandomStep(Random random)
    {
        var rows = random.Next(0, 64);
        var step = default(StepShape);
        for (var r = 0; r < rows; r++)
        {
            step += StepShape.Chunk(random.Next(1, 2000), 1, decode: true);
        }

        if (rows == 0 || random.NextDouble() < 0.5)
        {
            step += StepShape.Chunk(random.Next(0, 1000), random.Next(1, 513), decode: false);
        }

        return step;
    }
}
