using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.Sampling;

namespace Brim.Engine.Speculative;

/// <summary>Hands one token to the sequence (append, stop checks, update); false when it finished the sequence.</summary>
internal delegate bool TokenSink(Sequence seq, int token, TokenLogprobs? logprobs);

/// <summary>
/// Verifies one sequence's draft against the target's logit rows of a step: row i is the target's distribution of the
/// token after draft token i (row 0: after the sequence's last sampled token). Tokens are produced one row at a time,
/// each handed to the sink before the next row is read, so penalties see the tokens before it exactly as if they had
/// been generated one by one, and a stop (EOS, stop string, max_tokens) inside the accepted run ends it there. Point-mass
/// drafts: sample the row as without speculation, keep going while the sample equals the draft token (greedy: while the
/// argmax agrees); drafts with a distribution: <see cref="RejectionRule"/>. After the last draft token, or at the first
/// rejection (whose replacement is the step's last token), verification ends.
/// </summary>
/// <remarks>
/// <para>Step loop only; shares the engine's <see cref="Sampler"/>.</para>
/// <para>
/// Rows sampled on the device (no logits came back: <see cref="ForwardOutput.HasLogits"/>; <see cref="Stepping.DeviceSamplingPlan"/>
/// sends only point-mass drafts and greedy requests there): row i holds the target's own sample x_i ~ p_i, drawn with the
/// sequence's i-th next uniform, and the draft token d_i is kept while x_i == d_i. This is exact. For a point-mass
/// proposal q = δ(d) the standard rule keeps d with probability min(1, p(d)/q(d)) = p(d) and otherwise draws from the
/// normalized residual max(0, p − q) ∝ p restricted to x ≠ d. Sampling x ~ p and keeping d when x = d keeps it with
/// probability p(d); when x ≠ d, x is distributed as p conditioned on x ≠ d, which is that residual, so x is the
/// correction token. Greedy is the same with p a point mass at the argmax. Since the device draws row i with the
/// uniform plain decoding would draw for that token, and the verifier then draws exactly one uniform per token produced
/// (<see cref="SequenceRandom.Skip"/>), seeded output is the same as on the host path and as without speculation.
/// </para>
/// </remarks>
internal sealed class DraftVerifier(Sampler sampler)
{
    private float[] _p = [];
    private float[] _residual = [];

    /// <summary>
    /// Produces 1 to <paramref name="drafts"/> + 1 tokens from rows <paramref name="firstRow"/>.. of
    /// <paramref name="output"/>; returns how many draft tokens were accepted.
    /// </summary>
    public int Verify(Sequence seq, int drafts, ForwardOutput output, int firstRow, TokenSink sink)
    {
        if (!output.HasLogits(firstRow))
        {
            return VerifyDeviceSamples(seq, drafts, output, firstRow, sink);
        }

        var draft = seq.Speculation.Draft;
        for (var i = 0; i <= drafts; i++)
        {
            var row = output.LogitRow(firstRow + i);
            var (token, accepted, logprobs) = i < drafts && draft.HasDistributions && !seq.Sampling.IsGreedy
                ? DecideSampledDraft(seq, row, draft.Distribution(i), draft[i])
                : SampleAndCompare(seq, row, i < drafts ? draft[i] : -1);
            // The row after the last draft token never "accepts" (there is nothing to compare), so the loop always ends here.
            if (!sink(seq, token, logprobs) || !accepted)
            {
                return accepted ? i + 1 : i;
            }
        }

        throw new InvalidOperationException("unreachable: the bonus row ends verification");
    }

    /// <summary>
    /// The point-mass rule on tokens the device sampled from rows whose uniforms were peeked: one uniform drawn per token
    /// produced, as plain decoding draws them.
    /// </summary>
    private static int VerifyDeviceSamples(Sequence seq, int drafts, ForwardOutput output, int firstRow, TokenSink sink)
    {
        var draft = seq.Speculation.Draft;
        if (draft.HasDistributions && !seq.Sampling.IsGreedy)
        {
            throw new InvalidOperationException("a sampled draft needs the target's logits: its step must be sampled on the host");
        }

        for (var i = 0; i <= drafts; i++)
        {
            var token = output.SampledTokens[firstRow + i];
            if (!seq.Sampling.IsGreedy)
            {
                seq.Random.Skip(1);
            }

            var accepted = i < drafts && token == draft[i];
            if (!sink(seq, token, DeviceLogprobs.Read(output, firstRow + i, seq.Sampling)) || !accepted)
            {
                return accepted ? i + 1 : i;
            }
        }

        throw new InvalidOperationException("unreachable: the bonus row ends verification");
    }

    /// <summary>Samples the row exactly as without speculation (one uniform per token) and keeps the draft token when they agree.</summary>
    private (int Token, bool Accepted, TokenLogprobs? Logprobs) SampleAndCompare(Sequence seq, Span<float> row, int draftToken)
    {
        var uniform = seq.Sampling.IsGreedy ? 0f : seq.Random.NextUniform();
        var token = sampler.Sample(row, seq.Sampling, seq.Penalties, uniform, out var logprobs);
        return (token, draftToken >= 0 && token == draftToken, logprobs);
    }

    private (int Token, bool Accepted, TokenLogprobs? Logprobs) DecideSampledDraft(Sequence seq, Span<float> row, ReadOnlySpan<float> q, int draftToken)
    {
        if (_p.Length < row.Length)
        {
            _p = new float[row.Length];
            _residual = new float[row.Length];
        }

        var p = _p.AsSpan(0, row.Length);
        sampler.Distribution(row, seq.Sampling, seq.Penalties, p);
        var acceptUniform = seq.Random.NextUniform();
        var residualUniform = seq.Random.NextUniform();
        var (token, accepted) = RejectionRule.Decide(p, q, draftToken, acceptUniform, residualUniform, _residual);
        return (token, accepted, sampler.LogprobsOfLastRow(token, row.Length, seq.Sampling));
    }
}
