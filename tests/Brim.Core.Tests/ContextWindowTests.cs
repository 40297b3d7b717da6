using Brim.Core;

namespace Brim.Core.Tests;

public class ContextWindowTests
{
    private readonly ContextWindow _window = new(512);

    [Theory]
    [InlineData(512)]
    [InlineData(600)]
    public void CheckPrompt_NoRoomForOneOutputToken_ThrowsNamingPrompt(int promptTokens)
    {
        var ex = Assert.Throws<ArgumentException>(() => _window.CheckPrompt(promptTokens));
        Assert.Equal("prompt", ex.ParamName);
        Assert.Contains("511", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckPrompt_511Tokens_Passes() => _window.CheckPrompt(511);

    [Theory]
    [InlineData(10, null, 16, 16)]
    [InlineData(500, null, 16, 12)]
    [InlineData(10, null, int.MaxValue, 502)]
    [InlineData(10, 502, 16, 502)]
    [InlineData(511, null, 16, 1)]
    public void MaxTokensFor_RequestedOrDefault_FitsTheContext(int promptTokens, int? requested, int defaultTokens, int expected) =>
        Assert.Equal(expected, _window.MaxTokensFor(promptTokens, requested, defaultTokens));

    [Fact]
    public void MaxTokensFor_RequestedBeyondTheContext_ThrowsNamingMaxTokens()
    {
        var ex = Assert.Throws<ArgumentException>(() => _window.MaxTokensFor(10, 503, 16));
        Assert.Equal(nameof(SamplingParams.MaxTokens), ex.ParamName);
    }
}
