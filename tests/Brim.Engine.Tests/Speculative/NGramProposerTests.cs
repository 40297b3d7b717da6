using Brim.Engine.Speculative;

namespace Brim.Engine.Tests.Speculative;

public class NGramProposerTests
{
    [Fact]
    public void Propose_SuffixSeenBefore_ProposesWhatFollowedIt()
    {
        var draft = new DraftTokens();
        new NGramProposer(1, 3).Propose([1, 2, 3, 4, 5, 1, 2, 3], 3, draft);
        Assert.Equal([4, 5, 1], draft.Tokens);
    }

    [Fact]
    public void Propose_LongerMatchEarlier_WinsOverShorterMatchLater()
    {
        // [2, 3] occurs at the start; [3] alone occurs later, followed by 8: the longer match predicts better.
        var draft = new DraftTokens();
        new NGramProposer(1, 3).Propose([2, 3, 9, 1, 3, 8, 1, 2, 3], 2, draft);
        Assert.Equal([9, 1], draft.Tokens);
    }

    [Fact]
    public void Propose_SeveralOccurrences_TakesTheMostRecent()
    {
        var draft = new DraftTokens();
        new NGramProposer(2, 2).Propose([7, 7, 1, 7, 7, 2, 7, 7], 1, draft);
        Assert.Equal([2], draft.Tokens);
    }

    [Fact]
    public void Propose_NoMatchOrSuffixBelowMinimum_ProposesNothing()
    {
        var draft = new DraftTokens();
        new NGramProposer(2, 4).Propose([1, 2, 3, 4, 5, 3], 4, draft);
        Assert.Equal(0, draft.Count);
        new NGramProposer(1, 4).Propose([9], 4, draft);
        Assert.Equal(0, draft.Count);
    }

    [Fact]
    public void Propose_ContinuationShorterThanK_StopsAtTheEndOfTheTokens()
    {
        var draft = new DraftTokens();
        new NGramProposer(1, 2).Propose([5, 6, 5], 4, draft);
        Assert.Equal([6, 5], draft.Tokens);
    }
}
