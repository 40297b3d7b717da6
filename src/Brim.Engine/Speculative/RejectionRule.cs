namespace Brim.Engine.Speculative;

/// <summary>
/// The speculative sampling rule (Leviathan et al. 2023; Chen et al. 2023) for a draft token d drawn from a proposal
/// distribution q where the target's distribution is p: keep d with probability min(1, p(d) / q(d)); otherwise draw the
/// replacement from the residual max(0, p − q), normalized. Whatever q is, the token that comes out is distributed
/// exactly as p, so speculation changes how fast tokens come, never which tokens are likely.
/// </summary>
/// <remarks>
/// A point-mass q (prompt lookup) needs no rule of its own: keeping d with probability p(d) and otherwise drawing from
/// p without d is the same as drawing x from p and keeping d exactly when x = d, which is how <see cref="DraftVerifier"/>
/// verifies such drafts (one uniform per token, the same one sampling without speculation uses).
/// </remarks>
public static class RejectionRule
{
    /// <summary>
    /// Decides draft token <paramref name="draft"/>: returns it with <c>accepted</c> true, or the replacement drawn from
    /// the residual with <c>accepted</c> false. <paramref name="acceptUniform"/> and <paramref name="residualUniform"/> are
    /// independent uniforms in [0, 1); <paramref name="residual"/> is scratch of the vocabulary's size.
    /// </summary>
    public static (int Token, bool Accepted) Decide(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, int draft, float acceptUniform, float residualUniform, Span<float> residual)
    {
        if (p.Length != q.Length || residual.Length < p.Length)
        {
            throw new ArgumentException($"p ({p.Length}), q ({q.Length}) and the scratch ({residual.Length}) must cover one vocabulary");
        }

        // u < p/q, written without the division: q(d) > 0 since d was drawn from q, and p(d) >= q(d) always keeps d.
        if (acceptUniform * q[draft] < p[draft])
        {
            return (draft, true);
        }

        var mass = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            var r = Math.Max(0f, p[i] - q[i]);
            residual[i] = r;
            mass += r;
        }

        // p == q up to rounding leaves no residual; then rejection had probability ~0 and p itself is the right law.
        var source = mass > 0 ? (ReadOnlySpan<float>)residual[..p.Length] : p;
        var total = mass > 0 ? mass : Sum(p);
        return (Walk(source, residualUniform * total), false);
    }

    /// <summary>The first id whose cumulative mass exceeds <paramref name="target"/> (ids in order; the last positive id on rounding).</summary>
    private static int Walk(ReadOnlySpan<float> weights, double target)
    {
        var cumulative = 0.0;
        var last = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            if (weights[i] > 0f)
            {
                last = i;
                cumulative += weights[i];
                if (cumulative > target)
                {
                    return i;
                }
            }
        }

        return last;
    }

    private static double Sum(ReadOnlySpan<float> p)
    {
        var sum = 0.0;
        foreach (var v in p)
        {
            sum += v;
        }

        return sum;
    }
}
