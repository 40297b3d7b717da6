using Brim.Cli.Bench;

namespace Brim.Cli.Tests;

public class TpotSloChoiceTests
{
    [Theory]
    [InlineData("auto", null, null)]
    [InlineData("12.5", 12.5, null)]
    [InlineData("1.1x", null, 1.1)]
    [InlineData(" 2X ", null, 2.0)]
    public void TryParse_ValidText_ReadsIt(string text, double? ms, double? factor)
    {
        Assert.True(TpotSloChoice.TryParse(text, out var choice));
        Assert.Equal(ms, choice.Milliseconds);
        Assert.Equal(factor, choice.OfOnlineOnlyP99);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-1x")]
    [InlineData("x")]
    [InlineData("fast")]
    [InlineData("NaN")]
    public void TryParse_InvalidText_Refuses(string text) => Assert.False(TpotSloChoice.TryParse(text, out _));

    [Fact]
    public void Resolve_MultipleOfOnlineOnlyP99_ScalesItAndAutoStaysLearned()
    {
        Assert.True(TpotSloChoice.TryParse("1.1x", out var factor));
        Assert.Equal(11e-3, factor.Resolve(10e-3)!.Value.TotalSeconds, 9);
        Assert.Null(factor.Resolve(double.NaN)); // no online-only TPOT measured: learned instead
        Assert.Null(TpotSloChoice.Auto.Resolve(10e-3));
        Assert.True(TpotSloChoice.TryParse("7", out var ms));
        Assert.Equal(TimeSpan.FromMilliseconds(7), ms.Resolve(double.NaN));
        Assert.Equal("1.1x", factor.ToString());
        Assert.True(TpotSloChoice.TryParse("step", out var step));
        Assert.True(step.PerStep && !step.IsAuto && step.Resolve(10e-3) is null);
    }
}
