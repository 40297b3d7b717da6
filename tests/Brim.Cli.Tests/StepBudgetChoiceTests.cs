using Brim.Cli.Bench;

namespace Brim.Cli.Tests;

/// <summary>`brim bench mixed --step-budget-ms`: what it accepts and the budget it gives the mixed runs.</summary>
public class StepBudgetChoiceTests
{
    [Theory]
    [InlineData("auto", true, null)]
    [InlineData("AUTO", true, null)]
    [InlineData("off", false, null)]
    [InlineData("2.5", false, 2.5)]
    [InlineData("0.01", false, 0.01)]
    public void TryParse_ValidText_GivesTheChoice(string text, bool auto, double? ms)
    {
        Assert.True(StepBudgetChoice.TryParse(text, out var choice));
        Assert.Equal(auto, choice.IsAuto);
        Assert.Equal(ms is { } m ? TimeSpan.FromMilliseconds(m) : null, choice.Fixed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fast")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("NaN")]
    [InlineData("20000")]
    public void TryParse_InvalidText_Refuses(string text) => Assert.False(StepBudgetChoice.TryParse(text, out _));

    [Fact]
    public void Resolve_Auto_GivesEachStepHalfOfTheTtftLimitLessTheWindow()
    {
        // Online-only p99 TTFT 1.8 ms: the limit is 1.1 × 1.8 ms + window; the two steps a request sits through share 1.98 ms.
        Assert.Equal(TimeSpan.FromMilliseconds(0.99), StepBudgetChoice.Auto.Resolve(1.8e-3));
    }

    [Fact]
    public void Resolve_AutoWithoutOnlineSamples_NoCap()
    {
        Assert.Null(StepBudgetChoice.Auto.Resolve(double.NaN));
        Assert.Null(StepBudgetChoice.Off.Resolve(1.8e-3));
        Assert.Equal(TimeSpan.FromMilliseconds(4), new StepBudgetChoice(false, TimeSpan.FromMilliseconds(4)).Resolve(double.NaN));
    }
}
