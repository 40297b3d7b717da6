using Brim.Core.Execution;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Stepping;

/// <summary>
/// Decides whether a step's logit rows are sampled on the device (only token ids come back) or on the host (every
/// row's logits come back), and writes the device's <see cref="DeviceSamplingRow"/>s. The device sampler knows
/// temperature, top-k, top-p and min-p and nothing else, and it returns one token per row; a row may go there when the
/// token it returns is all the engine needs:
/// <list type="bullet">
/// <item>a plain sampled row of a stateless request (no penalties, logit bias or logprobs);</item>
/// <item>a verify row of a stateless request whose draft is a point mass (prompt lookup, or any greedy request): the
/// verifier only compares the target's sample with the draft token (see <see cref="Speculative.DraftVerifier"/>);</item>
/// </list>
/// but not a verify row whose draft carries a distribution q and whose request samples (a draft model at temperature
/// &gt; 0): the rejection rule needs p itself. One such row, or one stateful request, sends the whole step to the host:
/// a step's output is either logits or token ids (<see cref="ForwardOutput.Sampled"/>), never a mix.
/// </summary>
/// <remarks>
/// Uniforms: a plain row draws its uniform here, one per token, as the host would at acceptance. A verify row only
/// peeks (row i gets the sequence's i-th next uniform), because how many of its rows become tokens is known only after
/// verification, which then draws one per token produced: the stream advances exactly as plain decoding's would, so a
/// seed gives the same tokens with or without speculation, on the device or on the host.
/// </remarks>
internal static class DeviceSamplingPlan
{
    /// <summary>Whether every sampling chunk of <paramref name="plan"/> can be sampled on the device.</summary>
    public static bool Supports(SchedulerOutput plan)
    {
        foreach (var chunk in plan.Chunks)
        {
            if (!Supports(chunk))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether the device can sample <paramref name="chunk"/>'s rows (true for a chunk that samples nothing).</summary>
    public static bool Supports(ScheduledChunk chunk)
    {
        var seq = chunk.Sequence;
        if (chunk.Drafts > 0)
        {
            return seq.Sampling.IsStateless && (seq.Sampling.IsGreedy || !seq.Speculation.Draft.HasDistributions);
        }

        return !chunk.SamplesNextToken || seq.Sampling.IsStateless;
    }

    /// <summary>
    /// Appends the rows of a sampling chunk: 1 + <see cref="ScheduledChunk.Drafts"/> of them, in token order. Draws the
    /// uniform of a plain row; peeks those of a verify chunk (<see cref="Speculative.DraftVerifier"/> draws them).
    /// </summary>
    public static void AddRows(List<DeviceSamplingRow> rows, ScheduledChunk chunk)
    {
        var seq = chunk.Sequence;
        var p = seq.Sampling;
        if (chunk.Drafts == 0)
        {
            rows.Add(new DeviceSamplingRow(p.Temperature, p.TopK, p.TopP, p.MinP, p.IsGreedy ? 0f : seq.Random.NextUniform()));
            return;
        }

        for (var i = 0; i <= chunk.Drafts; i++)
        {
            rows.Add(new DeviceSamplingRow(p.Temperature, p.TopK, p.TopP, p.MinP, p.IsGreedy ? 0f : seq.Random.PeekUniform(i)));
        }
    }
}
