namespace Brim.Engine.Scheduling;

/// <summary>A sequence's share of one step: <see cref="TokenCount"/> tokens starting at its first uncomputed one.</summary>
public readonly record struct ScheduledChunk(Sequence Sequence, int TokenCount)
{
    /// <summary>The chunk reaches the end of the sequence's tokens, so the next token is sampled after it.</summary>
    public bool SamplesNextToken => Sequence.ComputedTokens + TokenCount == Sequence.Length;
}
