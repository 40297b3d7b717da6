using System.Numerics;
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
    private int[] _order = [];
    private int[] _heap = [];

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
    /// The kept candidates in id order: every token at least as likely as the threshold <see cref="KeepThreshold"/> sets
    /// (ties kept, as on the device).
    /// </summary>
    private ReadOnlySpan<int> KeepCandidates(ReadOnlySpan<float> probs, SamplingParams p)
    {
        var tau = KeepThreshold(probs, p);
        var count = 0;
        for (var i = 0; i < probs.Length; i++)
        {
            if (probs[i] >= tau)
            {
                _order[count++] = i;
            }
        }

        return _order.AsSpan(0, count);
    }

    /// <summary>
    /// The device sampler's rule as a probability threshold: at least min_p × the largest; at least the k-th largest
    /// (top-k); then the largest threshold whose kept tokens still hold top_p of what those two keep (top-p). A nucleus
    /// of up to <see cref="SortedNucleusLimit"/> tokens is found on a sorted prefix, a larger one (a flat distribution:
    /// high temperature, random weights) by bisection on the threshold, which costs a few passes over the row instead
    /// of sorting the vocabulary.
    /// </summary>
    private float KeepThreshold(ReadOnlySpan<float> probs, SamplingParams p)
    {
        var n = probs.Length;
        var tau = p.MinP > 0f ? p.MinP * TensorPrimitives.Max(probs) : 0f;
        if (p.TopK > 0 && p.TopK < n)
        {
            var kth = p.TopK <= TopKHeapLimit ? probs[TopIndices(_probs, n, p.TopK)[^1]] : KthLargestByBisection(probs, p.TopK);
            tau = Math.Max(tau, kth);
        }

        if (p.TopP >= 1f)
        {
            return tau;
        }

        var target = p.TopP * MassAtLeast(probs, tau);
        var top = TopIndices(_probs, n, Math.Min(n, SortedNucleusLimit));
        var mass = 0f;
        foreach (var id in top)
        {
            if (probs[id] < tau)
            {
                return tau; // everything above the floor is in: the nucleus is all of it
            }

            mass += probs[id];
            if (mass >= target)
            {
                return probs[id];
            }
        }

        return top.Length == n ? tau : NucleusByBisection(probs, tau, target);
    }

    /// <summary>Nuclei up to this many tokens are found on a sorted prefix (one heap pass); larger ones by bisection.</summary>
    private const int SortedNucleusLimit = 64;

    /// <summary>Top-k up to this k takes its k-th largest from a heap pass; larger k by bisection on the count.</summary>
    private const int TopKHeapLimit = 4096;

    private const int BisectionSteps = 30; // as sampling.cu: the threshold to ~1e-9 of the largest probability, then snapped to a real one

    /// <summary>The largest threshold t ≥ <paramref name="floor"/> whose tokens (p ≥ t) hold at least <paramref name="target"/>.</summary>
    private static float NucleusByBisection(ReadOnlySpan<float> probs, float floor, float target)
    {
        float lo = floor, hi = TensorPrimitives.Max(probs);
        for (var i = 0; i < BisectionSteps; i++)
        {
            var mid = 0.5f * (lo + hi);
            if (MassAtLeast(probs, mid) >= target)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return SnapUp(probs, lo);
    }

    /// <summary>The k-th largest value: the largest threshold that keeps at least k tokens.</summary>
    private static float KthLargestByBisection(ReadOnlySpan<float> probs, int k)
    {
        float lo = 0f, hi = TensorPrimitives.Max(probs);
        for (var i = 0; i < BisectionSteps; i++)
        {
            var mid = 0.5f * (lo + hi);
            if (CountAtLeast(probs, mid) >= k)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return SnapUp(probs, lo);
    }

    /// <summary>The smallest value at or above <paramref name="t"/>: the same kept set, with the threshold on a real probability.</summary>
    private static float SnapUp(ReadOnlySpan<float> probs, float t)
    {
        var best = float.MaxValue;
        foreach (var v in probs)
        {
            if (v >= t && v < best)
            {
                best = v;
            }
        }

        return best == float.MaxValue ? t : best;
    }

    private static float MassAtLeast(ReadOnlySpan<float> probs, float t)
    {
        var threshold = new Vector<float>(t);
        var sum = Vector<float>.Zero;
        var i = 0;
        for (; i <= probs.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = new Vector<float>(probs.Slice(i));
            sum += Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, threshold), v, Vector<float>.Zero);
        }

        var total = Vector.Sum(sum);
        for (; i < probs.Length; i++)
        {
            total += probs[i] >= t ? probs[i] : 0f;
        }

        return total;
    }

    private static int CountAtLeast(ReadOnlySpan<float> probs, float t)
    {
        var count = 0;
        foreach (var v in probs)
        {
            count += v >= t ? 1 : 0;
        }

        return count;
    }

    /// <summary>Ids of the <paramref name="k"/> largest values, largest first, ties by smaller id.</summary>
    private ReadOnlySpan<int> TopIndices(float[] values, int n, int k)
    {
        var order = _order.AsSpan(0, n);
        if (k >= n)
        {
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            order.Sort(new DescendingById(values));
            return order;
        }

        // Bounded selection without allocating: a binary heap of the k best ids seen so far whose root is the worst of
        // them; a better id replaces the root. Then popping the root k times yields them worst first.
        var heap = _heap.AsSpan(0, k);
        for (var i = 0; i < k; i++)
        {
            heap[i] = i;
            SiftUp(heap, i, values);
        }

        for (var i = k; i < n; i++)
        {
            if (Better(values, i, heap[0]))
            {
                heap[0] = i;
                SiftDown(heap, 0, k, values);
            }
        }

        for (var size = k; size > 0; size--)
        {
            order[size - 1] = heap[0];
            heap[0] = heap[size - 1];
            SiftDown(heap, 0, size - 1, values);
        }

        return order[..k];
    }

    /// <summary>Whether id <paramref name="a"/> ranks before id <paramref name="b"/>: larger value, then smaller id (as <see cref="DescendingById"/>).</summary>
    private static bool Better(float[] values, int a, int b)
    {
        var c = values[a].CompareTo(values[b]);
        return c > 0 || (c == 0 && a < b);
    }

    private static void SiftUp(Span<int> heap, int i, float[] values)
    {
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Better(values, heap[parent], heap[i]))
            {
                return;
            }

            (heap[parent], heap[i]) = (heap[i], heap[parent]);
            i = parent;
        }
    }

    private static void SiftDown(Span<int> heap, int i, int size, float[] values)
    {
        while (true)
        {
            var worst = (2 * i) + 1;
            if (worst >= size)
            {
                return;
            }

            var right = worst + 1;
            if (right < size && Better(values, heap[worst], heap[right]))
            {
                worst = right;
            }

            if (!Better(values, heap[i], heap[worst]))
            {
                return;
            }

            (heap[i], heap[worst]) = (heap[worst], heap[i]);
            i = worst;
        }
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
            foreach (var id in TopIndices(_raw, raw.Length, Math.Min(topN, raw.Length)))
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
            _order = new int[n];
            _heap = new int[n];
        }
    }

    private sealed class DescendingById(float[] values) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var c = values[b].CompareTo(values[a]);
            return c != 0 ? c : a.CompareTo(b);
        }
    }
}
