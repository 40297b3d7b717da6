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
        // The k best, and every token tied with the k-th (the device keeps ties at the threshold; so does the host).
        var ranking = BruteForceRanking(logits);
        var allowed = ranking.Where(id => logits[id] >= logits[ranking[k - 1]]).ToHashSet();
        Assert.True(allowed.Count >= k);
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
    [Theory]
    [InlineData(0.9f, 0)]
    [InlineData(0.5f, 0)]
    [InlineData(0.95f, 6000)]
    public void Distribution_LargeNucleus_IsTheBruteForceNucleus(float topP, int topK)
    {
        // A flat distribution over a large vocabulary: the nucleus holds thousands of tokens, past the sorted prefix, so
        // the threshold is found by bisection (and top-k past the heap by bisection on the count).
        const int vocab = 20000;
        var random = new Random(7);
        var logits = Enumerable.Range(0, vocab).Select(_ => (float)(random.NextDouble() * 2)).ToArray();
        var p = new SamplingParams { Temperature = 1f, TopP = topP, TopK = topK, MaxTokens = 1 };
        var probs = new float[vocab];
        new Sampler().Distribution(logits.ToArray(), p, PenaltyState.For(p, []), probs);

        var full = logits.Select(l => Math.Exp(l - logits.Max())).ToArray();
        var ranking = Enumerable.Range(0, vocab).OrderByDescending(i => full[i]).ThenBy(i => i).ToArray();
        var candidates = topK > 0 ? ranking.Take(topK).ToArray() : ranking;
        var target = topP * candidates.Sum(i => full[i]);
        var mass = 0.0;
        var boundary = 0.0;
        foreach (var id in candidates)
        {
            mass += full[id];
            boundary = full[id];
            if (mass >= target)
            {
                break;
            }
        }

        var kept = Enumerable.Range(0, vocab).Where(i => probs[i] > 0f).ToHashSet();
        var expected = Enumerable.Range(0, vocab).Where(i => full[i] >= boundary).ToHashSet();
        var differing = kept.Except(expected).Concat(expected.Except(kept)).ToList();
        // Only tokens within float rounding of the boundary may land on either side.
        Assert.All(differing, id => Assert.True(Math.Abs(full[id] - boundary) < 1e-5 * boundary, $"token {id} ({full[id]}) vs boundary {boundary}"));
        Assert.True(kept.Count > 1000 && differing.Count < 5, $"{kept.Count} kept, {differing.Count} differ");
        Assert.Equal(1.0, kept.Sum(i => (double)probs[i]), 3);
    }

    private static float[] TiedLogits(Random random) =>
        Enumerable.Range(0, Vocab).Select(_ => random.Next(-40, 40) / 8f).ToArray();

    private static int[] BruteForceRanking(float[] logits) =>
        Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
}
