namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>
/// The sampling rule of sample_rows, written the obvious way (sort instead of bisection): min-p, then top-k, then
/// top-p over what is left, then the first index in vocabulary order whose running kept mass exceeds u · kept mass.
/// </summary>
internal static class SamplingReference
{
    /// <summary>The sampled token, and how far (in mass) the target is from the nearest interval boundary.</summary>
    public static (int Token, double Margin) Sample(ReadOnlySpan<float> logits, float temperature, int topK, float topP, float minP, float uniform)
    {
        var best = Compare.ArgMax(logits);
        if (temperature <= 0)
        {
            return (best, double.PositiveInfinity);
        }

        var e = new double[logits.Length];
        for (var i = 0; i < e.Length; i++)
        {
            e[i] = Math.Exp((logits[i] - logits[best]) / (double)temperature);
        }

        var keep = new bool[e.Length];
        for (var i = 0; i < e.Length; i++)
        {
            keep[i] = e[i] >= minP;
        }

        var order = Enumerable.Range(0, e.Length).Where(i => keep[i]).OrderByDescending(i => e[i]).ToArray();
        if (topK > 0 && topK < order.Length)
        {
            foreach (var i in order[topK..])
            {
                keep[i] = false;
            }

            order = order[..topK];
        }

        if (topP is > 0 and < 1)
        {
            var total = order.Sum(i => e[i]);
            double running = 0;
            var count = 0;
            while (count < order.Length && running < topP * total)
            {
                running += e[order[count++]];
            }

            foreach (var i in order[count..])
            {
                keep[i] = false;
            }
        }

        var mass = Enumerable.Range(0, e.Length).Where(i => keep[i]).Sum(i => e[i]);
        var target = uniform * mass;
        double cumulative = 0;
        for (var i = 0; i < e.Length; i++)
        {
            if (!keep[i])
            {
                continue;
            }

            var before = cumulative;
            cumulative += e[i];
            if (cumulative > target)
            {
                return (i, Math.Min(target - before, cumulative - target) / mass);
            }
        }

        return (best, 0);
    }
}
