using System.Numerics;
using System.Numerics.Tensors;
using Brim.Core;

namespace Brim.Engine.Sampling;

/// <summary>The probability a token must reach to be kept by top-k, min-p and top-p: the device sampler's rule (sampling.cu).</summary>
internal static class KeepThreshold
{
    /// <summary>
    /// The threshold of probabilities <paramref name="probsArray"/>[..<paramref name="n"/>]: at least min_p × the largest;
    /// at least the k-th largest (top-k); then the largest threshold whose kept tokens still hold top_p of what those two
    /// keep (top-p), so ties at either boundary are kept. A nucleus
    /// of up to <see cref="SortedNucleusLimit"/> tokens is found on a sorted prefix, a larger one (a flat distribution:
    /// high temperature, random weights) by bisection on the threshold, which costs a few passes over the row instead
    /// of sorting the vocabulary.
    /// </summary>
    public static float For(float[] probsArray, int n, SamplingParams p, TopSelection top)
    {
        var probs = probsArray.AsSpan(0, n);
        var tau = p.MinP > 0f ? p.MinP * TensorPrimitives.Max(probs) : 0f;
        if (p.TopK > 0 && p.TopK < n)
        {
            var kth = p.TopK <= TopKHeapLimit ? probs[top.Largest(probsArray, n, p.TopK)[^1]] : KthLargestByBisection(probs, p.TopK);
            tau = Math.Max(tau, kth);
        }

        if (p.TopP >= 1f)
        {
            return tau;
        }

        var target = p.TopP * MassAtLeast(probs, tau);
        var prefix = top.Largest(probsArray, n, Math.Min(n, SortedNucleusLimit));
        var mass = 0f;
        foreach (var id in prefix)
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

        return prefix.Length == n ? tau : NucleusByBisection(probs, tau, target);
    }

    /// <summary>Nuclei up to this many tokens are found on a sorted prefix (one heap pass); larger ones by bisection.</summary>
    private const int SortedNucleusLimit = 64;

    /// <summary>Top-k up to this k takes its k-th largest from a heap pass; larger k by bisection on the count.</summary>
    private const int TopKHeapLimit = 4096;

    private const int BisectionSteps = 30; // as sampling.cu: the threshold to ~1e-9 of the largest probability, then snapped to a real one

    /// <summary>The largest threshold t ≥ <paramref name="floor"/> whose tokens (p ≥ t) hold at least <paramref name="target"/>.</summary>
    private static float NucleusByBisection(ReadOnlySpan<float> probs, float floor, float target) => LargestKeeping(probs, floor, target, count: false);

    /// <summary>The k-th largest value: the largest threshold that keeps at least k tokens.</summary>
    private static float KthLargestByBisection(ReadOnlySpan<float> probs, int k) => LargestKeeping(probs, 0f, k, count: true);

    /// <summary>
    /// The largest threshold t ≥ <paramref name="floor"/> whose tokens still reach <paramref name="target"/> — their mass,
    /// or with <paramref name="count"/> their number (sampling.cu's mass_at_least) — bisected, then snapped to a real value.
    /// </summary>
    private static float LargestKeeping(ReadOnlySpan<float> probs, float floor, float target, bool count)
    {
        float lo = floor, hi = TensorPrimitives.Max(probs);
        for (var i = 0; i < BisectionSteps; i++)
        {
            var mid = 0.5f * (lo + hi);
            if ((count ? CountAtLeast(probs, mid) : MassAtLeast(probs, mid)) >= target)
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
}
