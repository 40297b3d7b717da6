using System.Numerics.Tensors;
using Brim.Core;

namespace Brim.Engine.Sampling;

/// <summary>
/// Picks the next token from a row of logits on the host: penalties, then greedy or temperature / top-k / min-p / top-p
/// sampling driven by one uniform draw from the sequence's own stream. The walk is defined so device samplers can
/// reproduce it: with no truncation (top_k 0, top_p 1, min_p 0) walk the distribution in id order; otherwise walk the
/// kept candidates from most to least likely (ties: smaller id first); return the first token whose cumulative mass
/// exceeds u × kept mass. One instance per engine (it reuses scratch buffers); not thread-safe.
/// </summary>
public sealed class Sampler
{
    private float[] _probs = [];
    private float[] _raw = [];
    private int[] _order = [];

    /// <summary>Samples from <paramref name="logits"/> (modified in place by penalties).</summary>
    public int Sample(Span<float> logits, SamplingParams p, PenaltyState penalties, float uniform, out TokenLogprobs? logprobs)
    {
        var n = logits.Length;
        EnsureScratch(n);
        if (p.Logprobs is not null)
        {
            // OpenAI and vLLM report the model's own distribution, before penalties and temperature.
            logits.CopyTo(_raw);
        }

        penalties.Apply(logits, p);
        var token = p.IsGreedy ? TensorPrimitives.IndexOfMax(logits) : SampleFiltered(logits, p, uniform);
        logprobs = p.Logprobs is { } topN ? BuildLogprobs(_raw.AsSpan(0, n), token, topN) : null;
        return token;
    }

    private int SampleFiltered(ReadOnlySpan<float> logits, SamplingParams p, float uniform)
    {
        var n = logits.Length;
        var probs = _probs.AsSpan(0, n);
        TensorPrimitives.Divide(logits, p.Temperature, probs);
        TensorPrimitives.SoftMax(probs, probs);

        if (p.TopK == 0 && p.TopP >= 1f && p.MinP == 0f)
        {
            return WalkInIdOrder(probs, uniform);
        }

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

    /// <summary>The kept candidates, most likely first: top-k, then min-p, then the top-p nucleus.</summary>
    private ReadOnlySpan<int> KeepCandidates(ReadOnlySpan<float> probs, SamplingParams p)
    {
        var n = probs.Length;
        var limit = p.TopK > 0 ? Math.Min(p.TopK, n) : n;

        // Grow the sorted prefix until it holds the nucleus: usually a few dozen tokens, never a full sort of the vocabulary
        // unless the distribution is nearly flat.
        for (var take = Math.Min(limit, 64); ; take = Math.Min(limit, take * 8))
        {
            var top = TopIndices(_probs, n, take);
            var cutoff = p.MinP > 0f ? p.MinP * probs[top[0]] : 0f;
            var mass = 0f;
            for (var i = 0; i < top.Length; i++)
            {
                if (probs[top[i]] < cutoff)
                {
                    return top[..Math.Max(1, i)];
                }

                mass += probs[top[i]];
                if (mass >= p.TopP)
                {
                    return top[..(i + 1)];
                }
            }

            if (take == limit)
            {
                return top;
            }
        }
    }

    /// <summary>Ids of the <paramref name="k"/> largest values, largest first, ties by smaller id.</summary>
    private ReadOnlySpan<int> TopIndices(float[] scratch, int n, int k)
    {
        var values = scratch.AsSpan(0, n);
        var order = _order.AsSpan(0, n);
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var comparer = new DescendingById(scratch);
        if (k == values.Length)
        {
            order.Sort(comparer);
            return order;
        }

        // Bounded selection: a heap of the k best seen so far (its root is the worst of them).
        var heap = new PriorityQueue<int, int>(k + 1, Comparer<int>.Create((a, b) => comparer.Compare(b, a)));
        for (var i = 0; i < values.Length; i++)
        {
            heap.Enqueue(i, i);
            if (heap.Count > k)
            {
                heap.Dequeue();
            }
        }

        for (var i = k - 1; i >= 0; i--)
        {
            order[i] = heap.Dequeue();
        }

        return order[..k];
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

    private void EnsureScratch(int n)
    {
        if (_probs.Length < n)
        {
            _probs = new float[n];
            _raw = new float[n];
            _order = new int[n];
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
