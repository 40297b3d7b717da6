using Brim.Backends.Cpu;
using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.Sampling;
using Brim.Engine.Speculative;

namespace Brim.Engine.Tests.Speculative;

/// <summary>
/// For a fixed context of the bundled model, the first token verification produces is distributed as the target's own
/// next-token distribution, whatever the draft: a deliberately poor sampled draft (rejection rule) and a point-mass draft
/// on an unlikely token (prompt lookup's rule). Measured as the total variation distance between the empirical
/// distribution of <see cref="Draws"/> verifications and the exact target, against a threshold of
/// <see cref="NoiseMultiple"/> times the distance sampling noise alone gives on average (<see cref="ExpectedNoise"/>,
/// 0.002 to 0.004 here); the same draws under two broken rules (keep every draft token; replace a rejected one from p
/// instead of the residual) land above it, so the test can fail.
/// </summary>
public class VerificationDistributionTests
{
    private const int Draws = 100_000;

    /// <summary>How many times the expected noise a correct rule stays under.</summary>
    private const double NoiseMultiple = 3;

    [Theory]
    [InlineData(1.0f, 0)]
    [InlineData(0.8f, 20)]
    public void SampledPoorDraft_RejectionRule_MatchesTarget(float temperature, int topK)
    {
        var logits = ContextLogits();
        var sampling = new SamplingParams { Temperature = temperature, TopK = topK, Seed = 11, MaxTokens = 8 };
        var p = Target(logits, temperature, topK);
        var q = PoorDraft(p);
        var draftRandom = new Random(5);

        var seq = NewSequence(sampling);
        var verifier = new DraftVerifier(new Sampler());
        var output = OutputWith(logits);
        var counts = new double[p.Length];
        var alwaysKeep = new double[p.Length];
        var residualFromP = new double[p.Length];
        var ruleRandom = new Random(9);
        for (var i = 0; i < Draws; i++)
        {
            var d = Draw(q, draftRandom.NextDouble());
            seq.Speculation.Draft.Clear();
            seq.Speculation.Draft.Add(d, q.Select(v => (float)v).ToArray());
            logits.CopyTo(output.LogitRow(0));
            verifier.Verify(seq, 1, output, 0, (_, token, _) =>
            {
                counts[token]++;
                return false; // only the first token is measured
            });

            alwaysKeep[d]++;
            var keep = ruleRandom.NextDouble() * q[d] < p[d];
            residualFromP[keep ? d : Draw(p, ruleRandom.NextDouble())]++;
        }

        var threshold = NoiseMultiple * ExpectedNoise(p, Draws);
        var tv = TotalVariation(counts, p);
        Assert.True(tv < threshold, $"verification's tokens are {tv:F4} from the target (threshold {threshold:F4})");
        var keepTv = TotalVariation(alwaysKeep, p);
        var fromPTv = TotalVariation(residualFromP, p);
        Assert.True(keepTv > 2 * threshold, $"the poor draft itself must be far from the target ({keepTv:F4})");
        Assert.True(fromPTv > 2 * threshold, $"replacing from p instead of the residual must be detected ({fromPTv:F4}; threshold {threshold:F4})");
    }

    [Fact]
    public void PointMassDraftOnUnlikelyToken_SampleAndCompare_MatchesTarget()
    {
        var logits = ContextLogits();
        var sampling = new SamplingParams { Temperature = 1f, Seed = 3, MaxTokens = 8 };
        var p = Target(logits, 1f, 0);
        var unlikely = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ElementAt(5);

        var seq = NewSequence(sampling);
        var verifier = new DraftVerifier(new Sampler());
        var output = OutputWith(logits);
        var counts = new double[p.Length];
        var accepted = 0;
        for (var i = 0; i < Draws; i++)
        {
            seq.Speculation.Draft.Clear();
            seq.Speculation.Draft.Add(unlikely);
            logits.CopyTo(output.LogitRow(0));
            accepted += verifier.Verify(seq, 1, output, 0, (_, token, _) =>
            {
                counts[token]++;
                return false;
            });
        }

        Assert.True(TotalVariation(counts, p) < NoiseMultiple * ExpectedNoise(p, Draws));
        // A point-mass draft is kept exactly as often as the target samples it.
        Assert.InRange((double)accepted / Draws, p[unlikely] - 0.005, p[unlikely] + 0.005);
    }

    [Fact]
    public void PointMassDraft_DeviceSampledRows_MatchTargetAndTheHostPathDrawForDraw()
    {
        // The device path: every verify row sampled up front with the uniform peeked for it, then compared with the draft.
        // Same seed as a host-path twin: the same tokens come out draw for draw (one uniform per token produced on both),
        // and the first token is distributed as the target.
        var logits = ContextLogits();
        var sampling = new SamplingParams { Temperature = 1f, TopP = 0.9f, Seed = 21, MaxTokens = 8 };
        var p = Target(logits, 1f, 0);
        var unlikely = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ElementAt(3);

        var (host, device) = (NewSequence(sampling), NewSequence(sampling));
        var verifier = new DraftVerifier(new Sampler());
        var rowSampler = new Sampler();
        var hostOutput = OutputWith(logits);
        var deviceOutput = new ForwardOutput(logits.Length);
        var scratch = new float[logits.Length];
        var counts = new double[p.Length];
        var (hostTokens, deviceTokens) = (new List<int>(), new List<int>());
        for (var i = 0; i < Draws / 4; i++)
        {
            foreach (var seq in (Sequence[])[host, device])
            {
                seq.Speculation.Draft.Clear();
                seq.Speculation.Draft.Add(unlikely);
            }

            logits.CopyTo(hostOutput.LogitRow(0));
            logits.CopyTo(hostOutput.LogitRow(1));
            verifier.Verify(host, 1, hostOutput, 0, (_, token, _) =>
            {
                hostTokens.Add(token);
                return true;
            });

            deviceOutput.Prepare(2, sampled: true);
            for (var row = 0; row < 2; row++)
            {
                logits.CopyTo(scratch, 0);
                var rowParams = new SamplingParams { Temperature = sampling.Temperature, TopP = sampling.TopP, MaxTokens = 1 };
                deviceOutput.SampledTokens[row] = rowSampler.Sample(scratch, rowParams, PenaltyState.None, device.Random.PeekUniform(row), out _);
            }

            var first = true;
            verifier.Verify(device, 1, deviceOutput, 0, (_, token, _) =>
            {
                deviceTokens.Add(token);
                counts[token] += first ? 1 : 0;
                first = false;
                return true;
            });
        }

        Assert.Equal(hostTokens, deviceTokens);
        var target = Target(logits, 1f, 0, topP: 0.9);
        Assert.True(TotalVariation(counts, target) < NoiseMultiple * ExpectedNoise(target, Draws / 4));
    }

    /// <summary>The bundled model's logits after a fixed prompt, from the CPU backend.</summary>
    private static float[] ContextLogits()
    {
        using var backend = CpuBackend.Create(BundledModel.Model, new CpuBackendOptions { ThreadCount = 1 });
        backend.AllocateKvCache(8, 16);
        var prompt = BundledModel.Tokenizer.Encode("Once upon a time, there was a little").ToArray();
        var batch = new ForwardBatch(prompt, [new SequenceSlice(0, prompt.Length, 0, new[] { 0, 1, 2, 3 }, NeedsLogits: true)], 16);
        var output = new ForwardOutput(backend.VocabSize);
        backend.Forward(batch, output);
        return output.LogitRow(0).ToArray();
    }

    /// <summary>softmax(logits / T), truncated to the top k (or the top-p nucleus) and renormalized, computed in double independently of the sampler.</summary>
    private static double[] Target(float[] logits, float temperature, int topK, double topP = 1)
    {
        var max = logits.Max();
        var p = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        if (topP < 1)
        {
            // The smallest set of most likely tokens holding top_p of the mass.
            var total = p.Sum();
            var mass = 0.0;
            topK = 0;
            foreach (var i in Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]))
            {
                topK++;
                mass += p[i] / total;
                if (mass >= topP)
                {
                    break;
                }
            }
        }

        if (topK > 0)
        {
            var kept = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).Take(topK).ToHashSet();
            for (var i = 0; i < p.Length; i++)
            {
                p[i] = kept.Contains(i) ? p[i] : 0;
            }
        }

        var sum = p.Sum();
        return p.Select(v => v / sum).ToArray();
    }

    /// <summary>
    /// A draft that is wrong the way weak drafts are: it knows the likely candidates but ranks them backwards (the target's
    /// top ten probabilities, reversed, take 80 % of its mass), and spreads the rest as noise over the vocabulary.
    /// </summary>
    private static double[] PoorDraft(double[] p)
    {
        var order = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ToArray();
        var top = order.Take(10).Sum(i => p[i]);
        var q = Enumerable.Repeat(0.2 / p.Length, p.Length).ToArray();
        for (var r = 0; r < 10; r++)
        {
            q[order[r]] += 0.8 * p[order[9 - r]] / top;
        }

        return q;
    }

    private static int Draw(double[] weights, double u)
    {
        var cumulative = 0.0;
        for (var i = 0; i < weights.Length; i++)
        {
            cumulative += weights[i];
            if (cumulative > u)
            {
                return i;
            }
        }

        return Array.FindLastIndex(weights, w => w > 0);
    }

    /// <summary>The mean total variation between n draws from p and p itself: ½ Σ E|p̂ᵢ − pᵢ| ≈ ½ Σ √(2 pᵢ(1 − pᵢ) / (π n)).</summary>
    private static double ExpectedNoise(double[] p, int n) => 0.5 * p.Sum(v => Math.Sqrt(2 * v * (1 - v) / (Math.PI * n)));

    private static double TotalVariation(double[] counts, double[] p)
    {
        var n = counts.Sum();
        return 0.5 * counts.Select((c, i) => Math.Abs((c / n) - p[i])).Sum();
    }

    private static Sequence NewSequence(SamplingParams sampling) =>
        new(new GenerationRequest { Id = new RequestId("d"), PromptTokens = [1], Sampling = sampling }, 0, null);

    private static ForwardOutput OutputWith(float[] logits)
    {
        var output = new ForwardOutput(logits.Length);
        output.Prepare(2, sampled: false);
        logits.CopyTo(output.LogitRow(0));
        return output;
    }
}
