using Brim.Core;
using Brim.Engine.Sampling;

namespace Brim.Engine.Tests;

/// <summary>The host sampler's candidate selection against brute force, on random logits with many exact ties.</summary>
public class SamplerTests
{
    private const int Vocab = 1000;

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(20)]
    [InlineData(Vocab)]
    public void Sample_Logprobs_TopListIsTheLargestLogitsTiesBySmallerId(int topN)
    {
        var random = new Random(topN);
        var logits = TiedLogits(random);
        var p = SamplingParams.Greedy(1) with { Logprobs = topN };

        new Sampler().Sample(logits.ToArray(), p, PenaltyState.For(p, []), 0.5f, out var logprobs);

        Assert.Equal(BruteForceRanking(logits).Take(topN), logprobs!.Top.Select(t => t.TokenId));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(50)]
    public void Sample_TopK_EveryDrawIsAmongTheKBestAndTheWalkGoesInIdOrder(int k)
    {
        var random = new Random(100 + k);
        var logits = TiedLogits(random);
        var allowed = BruteForceRanking(logits).Take(k).ToHashSet();
        var p = new SamplingParams { Temperature = 0.8f, TopK = k, MaxTokens = 1 };
        var sampler = new Sampler();

        // u = 0 stops at the first kept token in id order (the device sampler's walk).
        Assert.Equal(allowed.Min(), sampler.Sample(logits.ToArray(), p, PenaltyState.For(p, []), 0f, out _));
        for (var draw = 0; draw < 200; draw++)
        {
            var token = sampler.Sample(logits.ToArray(), p, PenaltyState.For(p, []), random.NextSingle(), out _);
            Assert.Contains(token, allowed);
        }
    }

    [Fact]
    public void Sample_TopP_SmallNucleusKeepsOnlyTheLeaders()
    {
        var random = new Random(3);
        var logits = TiedLogits(random);
        var ranking = BruteForceRanking(logits);
        logits[ranking[0]] += 20f; // one dominant token: a nucleus of 0.5 is that token alone
        var p = new SamplingParams { Temperature = 1f, TopP = 0.5f, MaxTokens = 1 };
        var sampler = new Sampler();

        for (var draw = 0; draw < 50; draw++)
        {
            Assert.Equal(ranking[0], sampler.Sample(logits.ToArray(), p, PenaltyState.For(p, []), random.NextSingle(), out _));
        }
    }

    /// <summary>Logits on a coarse grid, so many ids share a value and the tie order matters.</summary>
    private static float[] TiedLogits(Random random) =>
        Enumerable.Range(0, Vocab).Select(_ => random.Next(-40, 40) / 8f).ToArray();

    private static int[] BruteForceRanking(float[] logits) =>
        Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
}
