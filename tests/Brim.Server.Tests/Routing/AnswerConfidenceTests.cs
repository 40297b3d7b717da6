using Brim.Core;
using Brim.Engine;
using Brim.Server.Generation;
using Brim.Server.Routing;

namespace Brim.Server.Tests.Routing;

/// <summary>The cascade's confidence: mean or minimum token logprob, the least confident choice, only finished answers.</summary>
public class AnswerConfidenceTests
{
    private static ChoiceResult Choice(FinishReason? finish, params float[] logprobs) => new()
    {
        Logprobs = [.. logprobs.Select((l, i) => new TokenLogprobs(i, l, []))],
        FinishReason = finish,
    };

    [Fact]
    public void Of_MeanOrMin_OverTheAnswersTokens()
    {
        ChoiceResult[] choices = [Choice(FinishReason.Stop, -0.1f, -0.2f, -3f)];
        Assert.Equal(-1.1, AnswerConfidence.Of(choices, ConfidenceMeasure.MeanLogprob)!.Value, 5);
        Assert.Equal(-3, AnswerConfidence.Of(choices, ConfidenceMeasure.MinLogprob)!.Value, 5);
    }

    [Fact]
    public void Of_SeveralChoices_TheLeastConfident()
    {
        ChoiceResult[] choices = [Choice(FinishReason.Length, -0.1f, -0.1f), Choice(FinishReason.Stop, -2f, -1f)];
        Assert.Equal(-1.5, AnswerConfidence.Of(choices, ConfidenceMeasure.MeanLogprob)!.Value, 5);
    }

    [Fact]
    public void Of_AnEmptyAnswer_NoEvidenceAgainstIt()
    {
        Assert.Equal(0, AnswerConfidence.Of([Choice(FinishReason.Stop)], ConfidenceMeasure.MinLogprob));
    }

    [Theory]
    [InlineData(FinishReason.Error)]
    [InlineData(FinishReason.Cancelled)]
    [InlineData(null)]
    public void Of_UnfinishedAnswer_NotJudged(FinishReason? finish)
    {
        Assert.Null(AnswerConfidence.Of([Choice(FinishReason.Stop, -5f), Choice(finish, -5f)], ConfidenceMeasure.MeanLogprob));
    }
}
