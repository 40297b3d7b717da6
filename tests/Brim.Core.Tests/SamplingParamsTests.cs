using Brim.Core;

namespace Brim.Core.Tests;

public class SamplingParamsTests
{
    [Theory]
    [InlineData(-0.1f, 1f, 16, "Temperature")]
    [InlineData(1f, 0f, 16, "TopP")]
    [InlineData(1f, 1f, 0, "MaxTokens")]
    [InlineData(float.NaN, 1f, 16, "Temperature")]
    [InlineData(2.01f, 1f, 16, "Temperature")]
    [InlineData(1f, 1.01f, 16, "TopP")]
    [InlineData(1f, -0.5f, 16, "TopP")]
    public void Validate_OutOfRange_ThrowsNamingTheField(float temperature, float topP, int maxTokens, string field)
    {
        var p = new SamplingParams { Temperature = temperature, TopP = topP, MaxTokens = maxTokens };
        var ex = Assert.Throws<ArgumentException>(p.Validate);
        Assert.Equal(field, ex.ParamName);
    }

    [Theory]
    [InlineData(0f, 1f)]
    [InlineData(2f, 1f)]
    [InlineData(1f, 1e-6f)]
    public void Validate_BoundaryValuesInRange_Pass(float temperature, float topP)
    {
        new SamplingParams { Temperature = temperature, TopP = topP }.Validate();
    }

    [Fact]
    public void Validate_Defaults_Passes()
    {
        new SamplingParams().Validate();
        Assert.False(new SamplingParams().IsGreedy);
        Assert.True(SamplingParams.Greedy(4).IsGreedy);
    }
}
