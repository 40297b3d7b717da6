using System.Numerics.Tensors;
using Brim.Core;

namespace Brim.Engine.Sampling;

/// <summary>
/// Picks the next token from a row of logits on the host: logit bias, penalties, then greedy or temperature / top-k / min-p / top-p
/// sampling driven by one uniform draw from the sequence's own stream. The rule is the device sampler's (sampling.cu), so
/// a seed gives the same tokens on the host and on the device: keep the k largest (top-k) that are at least min_p × the
/// largest (min-p), then the smallest set of the largest holding top_p of what those keep (top-p, relative to the kept
/// mass as in vLLM); walk the kept tokens in id order and return the first whose cumulative mass exceeds u × kept mass.
/// One instance per engine (it reuses scratch buffers); not thread-safe.
/// </summary>
public sealed class Sampler
{
    private float[] _probs = [];
    private float[] _raw = [];
    private int[] _kept = [];
    private readonly TopSelection _top = new();

    /// <summary>Samples from <paramref name="logits"/> (modified in place by the logit bias and penalties).</summary>
    public int Sample(Span<float> logits, SamplingParams p, PenaltyState penalties, float uniform, out TokenLogprobs? logprobs)
    {
        var n = logits.Length;
        Prepare(logits, p, penalties);
        var token = p.IsGreedy ? TensorPrimitives.IndexOfMax(logits) : SampleFiltered(logits, p, uniform);
        logprobs = p.Logprobs is { } topN ? BuildLogprobs(_raw.AsSpan(0, n), token, topN) : null;
        return token;
    }

    /// <summary>
    /// Writes into <paramref name="probs"/> the distribution <see cref="Sample"/> draws from for these logits (modified in
    /// place by the logit bias and penalties): temperature, then top-k / min-p / top-p truncation renormalized; greedy is a
    /// point mass at the argmax. Speculative verification with a sampled draft compares it with the draft's distribution.
    /// When <paramref name="p"/> asks for logprobs, <see cref="LogprobsOfLastRow"/> reports them for the chosen token.
    /// </summary>
    public void Distribution(Span<float> logits, SamplingParams p, PenaltyState penalties, Span<float> probs)
    {
        Prepare(logits, p, penalties);
        probs.Clear();
        if (p.IsGreedy)
        {
            probs[TensorPrimitives.IndexOfMax(logits)] = 1f;
            return;
        }

        var all = _probs.AsSpan(0, logits.Length);
        TensorPrimitives.Divide(logits, p.Temperature, all);
        TensorPrimitives.Subtract(all, TensorPrimitives.Max(all), all);
        TensorPrimitives.SoftMax(all, all);
        if (p.TopK == 0 && p.TopP >= 1f && p.MinP == 0f)
        {
            all.CopyTo(probs);
            return;
        }

        var kept = KeepCandidates(all, p);
        var mass = 0f;
        foreach (var id in kept)
        {
            mass += all[id];
        }

        foreach (var id in kept)
        {
            probs[id] = all[id] / mass;
        }
    }

    /// <summary>The logprobs of <paramref name="token"/> for the row last given to <see cref="Distribution"/> (which must have asked for them).</summary>
    public TokenLogprobs? LogprobsOfLastRow(int token, int vocabSize, SamplingParams p) =>
        p.Logprobs is { } topN ? BuildLogprobs(_raw.AsSpan(0, vocabSize), token, topN) : null;

    private static void ApplyLogitBias(Span<float> logits, SamplingParams p)
    {
        if (p.LogitBias is not { Count: > 0 } bias)
        {
            return;
        }

        foreach (var (token, value) in bias)
        {
            // Ids are validated against the tokenizer's vocabulary; a model whose logit rows are fewer has no such token.
            if ((uint)token < (uint)logits.Length)
            {
                logits[token] += value;
            }
        }
    }

    private int SampleFiltered(ReadOnlySpan<float> logits, SamplingParams p, float uniform)
    {
        var n = logits.Length;
        var probs = _probs.AsSpan(0, n);
        TensorPrimitives.Divide(logits, p.Temperature, probs);
        // SoftMax exponentiates as given: a scaled logit above ~88 (a +100 logit bias, or 20 at temperature 0.2) would
        // overflow to infinity and turn the row into NaN. Shifting by the maximum keeps every exponent at most 0.
        TensorPrimitives.Subtract(probs, TensorPrimitives.Max(probs), probs);
        TensorPrimitives.SoftMax(probs, probs);

        if (p.TopK == 0 && p.TopP >= 1f && p.MinP == 0f)
        {
            return WalkInIdOrder(probs, uniform);
        }

        // In id order, as the device walks (any fixed order samples the same distribution; one order gives one token).
        var kept = KeepCandidates(probs, p);
        var mass = 0f;
        foreach (var id in kept)
        {
            mass += probs[id];
        }

        var target = uniform * mass;
        var cumulative = 0f;
        foreach (var id in kept)
        {
            cumulative += probs[id];
            if (cumulative > target)
            {
                return id;
            }
        }

        return kept[^1];
    }

    private static int WalkInIdOrder(ReadOnlySpan<float> probs, float uniform)
    {
        var cumulative = 0f;
        var lastNonZero = 0;
        for (var i = 0; i < probs.Length; i++)
        {
            if (probs[i] > 0f)
            {
                lastNonZero = i;
                cumulative += probs[i];
                if (cumulative > uniform)
                {
                    return i;
                }
            }
        }

        return lastNonZero; // rounding left the total a hair below u
    }

    /// <summary>
    /// The kept candidates in id order: every token at least as likely as the threshold <see cref="Sampling.KeepThreshold"/> sets
    /// (ties kept, as on the device).
    /// </summary>
    private ReadOnlySpan<int> KeepCandidates(ReadOnlySpan<float> probs, SamplingParams p)
    {
        var tau = KeepThreshold.For(_probs, probs.Length, p, _top);
        var count = 0;
        for (var i = 0; i < probs.Length; i++)
        {
            if (probs[i] >= tau)
            {
                _kept[count++] = i;
            }
        }

        return _kept.AsSpan(0, count);
    }

    private TokenLogprobs BuildLogprobs(ReadOnlySpan<float> raw, int token, int topN)
    {
        var max = TensorPrimitives.Max(raw);
        var sum = 0.0;
        foreach (var l in raw)
        {
            sum += Math.Exp(l - max);
        }

        var logZ = max + (float)Math.Log(sum);
        var top = new List<(int, float)>(topN);
        if (topN > 0)
        {
            foreach (var id in _top.Largest(_raw, raw.Length, Math.Min(topN, raw.Length)))
            {
                top.Add((id, raw[id] - logZ));
            }
        }

        return new TokenLogprobs(token, raw[token] - logZ, top);
    }

    /// <summary>The steps every draw starts with: keeps the raw logits for logprobs, then the logit bias and penalties in place.</summary>
    private void Prepare(Span<float> logits, SamplingParams p, PenaltyState penalties)
    {
        EnsureScratch(logits.Length);
        if (p.Logprobs is not null)
        {
            // OpenAI and vLLM report the model's own distribution, before bias, penalties and temperature.
            logits.CopyTo(_raw);
        }

        // Bias before penalties, in vLLM's order; the two only interact through the multiplicative repetition penalty.
        ApplyLogitBias(logits, p);
        penalties.Apply(logits, p);
    }

    private void EnsureScratch(int n)
    {
        if (_probs.Length < n)
        {
            _probs = new float[n];
            _raw = new float[n];
            _kept = new int[n];
        }
    }

}
