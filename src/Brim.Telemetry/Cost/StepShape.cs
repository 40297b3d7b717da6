using Brim.Engine;

namespace Brim.Telemetry.Cost;

/// <summary>
/// The size of one forward step as the cost model needs it.
/// </summary>
/// <param name="Tokens">Tokens run through the decoder (prefill chunk tokens plus decode tokens).</param>
/// <param name="AttendedPositions">Σ over query tokens of the positions each attends to (a decode token at position p: p + 1).</param>
/// <param name="KvReadPositions">Σ over sequences of the context each reads from the KV cache (once per sequence per step).</param>
/// <param name="KvWrittenPositions">New positions whose K and V are written (equals <paramref name="Tokens"/>).</param>
/// <param name="SampledRows">Rows whose logits are computed (sequences that sample a token this step).</param>
public readonly record struct StepShape(int Tokens, long AttendedPositions, long KvReadPositions, int KvWrittenPositions, int SampledRows)
{
    /// <summary>
    /// The shape of a step from the engine's <see cref="StepRecord"/>, which carries totals rather than per-sequence
    /// spans. Exact for decode-only steps. With prefill, the record's context total mixes decode contexts with prefill
    /// chunk ends, so this assumes each prefill chunk starts a fresh prompt and the chunks are of equal length: then
    /// decode tokens attend to (context − prefill tokens) positions in total and a chunk of n tokens to n(n + 1)/2.
    /// Both assumptions can only under-count attention (a chunk that continues a prompt attends to its prefix n times,
    /// unequal chunks sum to more than equal ones), so MFU derived from it is never overstated.
    /// </summary>
    public static StepShape FromRecord(in StepRecord record)
    {
        var tokens = record.PrefillTokens + record.DecodeTokens;
        var prefillSequences = Math.Max(0, record.Sequences - record.DecodeTokens);
        long decodeAttended = Math.Max(0, record.ContextTokens - record.PrefillTokens);
        long prefillAttended = 0;
        if (prefillSequences > 0 && record.PrefillTokens > 0)
        {
            // Σ n(n+1)/2 over k equal chunks of n = P/k tokens: P(P/k + 1)/2.
            var p = (double)record.PrefillTokens;
            prefillAttended = (long)Math.Floor(p * ((p / prefillSequences) + 1) / 2);
        }

        return new StepShape(tokens, decodeAttended + prefillAttended, record.ContextTokens, tokens, record.SampledTokens);
    }

    /// <summary>
    /// A decode-only step: <paramref name="sequences"/> sequences each run and sample one token, each attending to (and
    /// reading K/V of) <paramref name="context"/> positions, its new token included — the shape
    /// <see cref="FromRecord"/> gives for a decode step whose contexts are all <paramref name="context"/>.
    /// </summary>
    public static StepShape Decode(int sequences, int context)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequences);
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 1);
        var positions = (long)sequences * context;
        return new StepShape(sequences, positions, positions, sequences, sequences);
    }

    /// <summary>Throws when the counts cannot describe a step.</summary>
    public void Validate()
    {
        if (Tokens < 0 || AttendedPositions < 0 || KvReadPositions < 0 || KvWrittenPositions < 0 || SampledRows < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StepShape), $"step counts must be non-negative: {this}");
        }

        if (SampledRows > Tokens)
        {
            throw new ArgumentOutOfRangeException(nameof(StepShape), $"cannot sample {SampledRows} rows from {Tokens} tokens");
        }
    }
}
