namespace Brim.Engine.Scheduling;

/// <summary>
/// A sequence's share of one step: <see cref="TokenCount"/> tokens starting at its first uncomputed one. The last
/// <see cref="Drafts"/> of them are speculative draft tokens (not yet the sequence's own): the chunk verifies them.
/// </summary>
public readonly record struct ScheduledChunk(Sequence Sequence, int TokenCount)
{
    /// <summary>Trailing tokens of the chunk that are the sequence's draft (0 for prefill and plain decode chunks).</summary>
    public int Drafts { get; init; }

    /// <summary>The chunk reaches the end of the sequence's tokens, so the next token is sampled after it.</summary>
    public bool SamplesNextToken => Sequence.ComputedTokens + TokenCount - Drafts == Sequence.Length;
}
