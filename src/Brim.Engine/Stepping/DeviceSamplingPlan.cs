using Brim.Core.Execution;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Stepping;

/// <summary>
/// Writes a step's <see cref="DeviceSamplingRow"/>s when the backend samples on the device: per logit row, either the
/// device draws the token (only token ids, and logprobs where asked, come back) or the row's logits come back and the
/// engine samples it (<see cref="DeviceSamplingRow.ReturnLogits"/>). The device sampler knows temperature, top-k,
/// top-p and min-p and reports logprobs; a row is drawn there when the token it returns is all the engine needs:
/// <list type="bullet">
/// <item>a plain sampled row of a request without penalties or logit bias (<see cref="Core.SamplingParams.SamplesOnDevice"/>);</item>
/// <item>a verify row of such a request whose draft is a point mass (prompt lookup, or any greedy request): the
/// verifier only compares the target's sample with the draft token (see <see cref="Speculative.DraftVerifier"/>);</item>
/// </list>
/// but not a verify row whose draft carries a distribution q and whose request samples (a draft model at temperature
/// &gt; 0): the rejection rule needs p itself. Those rows, and every row of a request with penalties or a logit bias,
/// come back as logits; the step's other rows stay on the device, so one such request never costs the step more
/// than its own rows' logits.
/// </summary>
/// <remarks>
/// Uniforms: a plain device row draws its uniform here, one per token, as the host would at acceptance; a host row
/// draws none here (the host draws it when it samples). A verify row only peeks (row i gets the sequence's i-th next
/// uniform), because how many of its rows become tokens is known only after verification, which then draws one per
/// token produced: the stream advances exactly as plain decoding's would, so a seed gives the same tokens with or
/// without speculation, on the device or on the host.
/// </remarks>
internal static class DeviceSamplingPlan
{
    /// <summary>Whether the device may draw <paramref name="chunk"/>'s rows (true for a chunk that samples nothing).</summary>
    public static bool SamplesOnDevice(ScheduledChunk chunk)
    {
        var seq = chunk.Sequence;
        if (chunk.Drafts > 0)
        {
            return seq.Sampling.SamplesOnDevice && (seq.Sampling.IsGreedy || !seq.Speculation.Draft.HasDistributions);
        }

        return !chunk.SamplesNextToken || seq.Sampling.SamplesOnDevice;
    }

    /// <summary>
    /// Appends the rows of a sampling chunk: 1 + <see cref="ScheduledChunk.Drafts"/> of them, in token order. On the
    /// device: draws the uniform of a plain row, peeks those of a verify chunk (<see cref="Speculative.DraftVerifier"/>
    /// draws them). Otherwise: rows whose logits come back, no uniform touched.
    /// </summary>
    public static void AddRows(List<DeviceSamplingRow> rows, ScheduledChunk chunk)
    {
        if (!SamplesOnDevice(chunk))
        {
            for (var i = 0; i <= chunk.Drafts; i++)
            {
                rows.Add(DeviceSamplingRow.HostSampled);
            }

            return;
        }

        var seq = chunk.Sequence;
        var p = seq.Sampling;
        var logprobs = p.Logprobs;
        if (chunk.Drafts == 0)
        {
            rows.Add(new DeviceSamplingRow(p.Temperature, p.TopK, p.TopP, p.MinP, p.IsGreedy ? 0f : seq.Random.NextUniform(), logprobs));
            return;
        }

        for (var i = 0; i <= chunk.Drafts; i++)
        {
            rows.Add(new DeviceSamplingRow(p.Temperature, p.TopK, p.TopP, p.MinP, p.IsGreedy ? 0f : seq.Random.PeekUniform(i), logprobs));
        }
    }
}
