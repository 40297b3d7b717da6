namespace Brim.Engine.Scheduling;

/// <summary>A sequence's share of one step: <see cref="TokenCount"/> tokens starting at its first uncomputed one.</summary>
public readonly record struct ScheduledChunk(Sequence Sequence, int TokenCount)
{
    /// <summary>The chunk reaches the end of the sequence's tokens, so the next token is sampled after it.</summary>
    public bool SamplesNextToken => Sequence.ComputedTokens + TokenCount == Sequence.Length;
}

/// <summary>What the scheduler decided for one step.</summary>
public sealed class SchedulerOutput
{
    public List<ScheduledChunk> Chunks { get; } = [];

    /// <summary>
    /// Sequences that lost their KV blocks this step: back to the waiting queue (recompute later) or swapped to host
    /// memory (<see cref="SequenceStatus.Swapped"/>).
    /// </summary>
    public List<Sequence> Preempted { get; } = [];

    /// <summary>Block copies between the KV cache and host swap space, to run in this order before the forward pass.</summary>
    public List<BlockSwap> Swaps { get; } = [];

    /// <summary>Sequences that can never run (their prompt needs more KV blocks than the whole cache has).</summary>
    public List<Sequence> Rejected { get; } = [];

    public int TokenCount { get; internal set; }

    public bool IsEmpty => Chunks.Count == 0;

    internal void Clear()
    {
        Chunks.Clear();
        Preempted.Clear();
        Rejected.Clear();
        Swaps.Clear();
        TokenCount = 0;
    }
}
