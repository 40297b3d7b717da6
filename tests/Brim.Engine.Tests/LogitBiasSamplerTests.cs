using Brim.Core;
using Brim.Engine.Sampling;

namespace Brim.Engine.Tests;

/// <summary>
/// logit_bias in the host sampler against a brute-force reference: bias added to the logits, then the documented walk
/// (id order without truncation, else the kept candidates from most to least likely) in double precision.
/// </summary>
public class LogitBiasSamplerTests
{
    private const int Vocab = 500;

    public static TheoryData<float, int, float, float> Settings() => new()
    {
        { 0f, 0, 1f, 0f },
        { 1f, 0, 1f, 0f },
        { 0.7f, 20, 1f, 0f },
        { 1.3f, 0, 0.8f, 0f },
        { 1f, 0, 1f, 0.05f },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Sample_WithLogitBias_MatchesBruteForceReference(float temperature, int topK, float topP, float minP)
    {
        var random = new Random(17 + topK);
        var sampler = new Sampler();
        var compared = 0;
        for (var trial = 0; trial < 40; trial++)
        {
            var logits = Enumerable.Range(0, Vocab).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
            var bias = new Dictionary<int, float>();
            for (var i = 0; i < 12; i++)
            {
                bias[random.Next(Vocab)] = (float)Math.Round(random.NextDouble() * 20 - 10, 2);
            }

            var p = new SamplingParams { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP, MaxTokens = 1, LogitBias = bias };
            p.Validate(Vocab);
            var u = random.NextSingle();
            var expected = Reference(logits, bias, p, u, out var ambiguous);
            if (ambiguous)
            {
                continue; // u lies within rounding of a boundary between two tokens: either answer is right
            }

            var token = sampler.Sample(logits.ToArray(), p, PenaltyState.For(p, []), u, out _);
            Assert.Equal(expected, token);
            compared++;
        }

        Assert.True(compared >= 30, $"only {compared} of 40 draws were away from a boundary");
    }

    [Fact]
    public void Sample_Minus100OnTheGreedyToken_PicksTheRunnerUp()
    {
        var logits = Enumerable.Range(0, Vocab).Select(i => (float)Math.Sin(i)).ToArray();
        var ranking = Enumerable.Range(0, Vocab).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
        var p = SamplingParams.Greedy(1) with { LogitBias = new Dictionary<int, float> { [ranking[0]] = -100f } };

        Assert.Equal(ranking[1], new Sampler().Sample(logits.ToArray(), p, PenaltyState.None, 0f, out _));
    }

    [Fact]
    public void Sample_Plus100_ForcesTheTokenAtTemperatureOne()
    {
        var random = new Random(5);
        var logits = Enumerable.Range(0, Vocab).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        var p = new SamplingParams { Temperature = 1f, MaxTokens = 1, LogitBias = new Dictionary<int, float> { [321] = 100f } };
        var sampler = new Sampler();

        for (var draw = 0; draw < 100; draw++)
        {
            Assert.Equal(321, sampler.Sample(logits.ToArray(), p, PenaltyState.None, random.NextSingle(), out _));
        }
    }

    [Fact]
    public void Sample_WithLogitBias_LogprobsReportTheUnbiasedDistribution()
    {
        var logits = Enumerable.Range(0, Vocab).Select(i => (float)Math.Cos(i)).ToArray();
        var plain = SamplingParams.Greedy(1) with { Logprobs = 3 };
        var biased = plain with { LogitBias = new Dictionary<int, float> { [7] = 100f } };

        var token = new Sampler().Sample(logits.ToArray(), biased, PenaltyState.None, 0f, out var withBias);
        new Sampler().Sample(logits.ToArray(), plain, PenaltyState.None, 0f, out var without);

        Assert.Equal(7, token);
        Assert.Equal(without!.Top, withBias!.Top);
    }

    [Theory]
    [InlineData(-1, 1f)]
    [InlineData(Vocab, 1f)]
    [InlineData(3, 100.5f)]
    [InlineData(3, -101f)]
    [InlineData(3, float.NaN)]
    public void Validate_LogitBiasOutOfRange_ThrowsNamingLogitBias(int token, float bias)
    {
        var p = new SamplingParams { LogitBias = new Dictionary<int, float> { [token] = bias } };

        var ex = Assert.Throws<ArgumentException>(() => p.Validate(Vocab));
        Assert.Equal(nameof(SamplingParams.LogitBias), ex.ParamName);
    }

    [Fact]
    public void Validate_301BiasedTokens_Throws300Passes()
    {
        var p = new SamplingParams { LogitBias = Enumerable.Range(0, 300).ToDictionary(i => i, _ => 1f) };
        p.Validate(Vocab);

        var over = p with { LogitBias = Enumerable.Range(0, 301).ToDictionary(i => i, _ => 1f) };
        Assert.Equal(nameof(SamplingParams.LogitBias), Assert.Throws<ArgumentException>(() => over.Validate(Vocab)).ParamName);
    }

    [Fact]
    public void SamplesOnDevice_WithLogitBias_IsFalseSoTheDeviceNeverSamplesIt()
    {
        var p = new SamplingParams { Temperature = 0.5f };
        Assert.True(p.SamplesOnDevice);
        Assert.False((p with { LogitBias = new Dictionary<int, float> { [1] = 2f } }).SamplesOnDevice);
        Assert.True((p with { LogitBias = new Dictionary<int, float>() }).SamplesOnDevice);
    }

    /// <summary>The whole sampling walk written out plainly, in double precision.</summary>
    private static int Reference(float[] logits, Dictionary<int, float> bias, SamplingParams p, float u, out bool ambiguous)
    {
        ambiguous = false;
        var biased = logits.Select(l => (double)l).ToArray();
        foreach (var (t, b) in bias)
        {
            biased[t] += b;
        }

        var ranking = Enumerable.Range(0, biased.Length).OrderByDescending(i => biased[i]).ThenBy(i => i).ToArray();
        if (p.IsGreedy)
        {
            ambiguous = biased[ranking[0]] - biased[ranking[1]] < 1e-4;
            return ranking[0];
        }

        var max = biased.Max();
        var weights = biased.Select(l => Math.Exp((l - max) / p.Temperature)).ToArray();
        var total = weights.Sum();
        var probs = weights.Select(w => w / total).ToArray();

        IEnumerable<int> kept;
        if (p.TopK == 0 && p.TopP >= 1f && p.MinP == 0f)
        {
            kept = Enumerable.Range(0, probs.Length);
        }
        else
        {
            // Top-k, then min-p, then the nucleus as a share of what those two keep; walked in id order.
            var candidates = ranking.Take(p.TopK > 0 ? p.TopK : ranking.Length).ToList();
            var cutoff = p.MinP * probs[candidates[0]];
            candidates = [.. candidates.Where((id, i) => i == 0 || probs[id] >= cutoff)];
            var share = p.TopP * candidates.Sum(id => probs[id]);
            var keep = p.TopP >= 1f ? candidates : [];
            var mass = 0.0;
            foreach (var id in p.TopP >= 1f ? [] : candidates)
            {
                keep.Add(id);
                mass += probs[id];
                if (mass >= share)
                {
                    ambiguous |= Math.Abs(mass - share) < 1e-4;
                    break;
                }
            }

            kept = keep.Order();
        }

        var list = kept.ToList();
        var keptMass = list.Sum(id => probs[id]);
        var target = u * keptMass;
        var cumulative = 0.0;
        foreach (var id in list)
        {
            cumulative += probs[id];
            if (cumulative > target)
            {
                ambiguous |= Math.Abs(cumulative - target) < 1e-4 || Math.Abs(cumulative - probs[id] - target) < 1e-4;
                return id;
            }
        }

        ambiguous = true;
        return list[^1];
    }
}
