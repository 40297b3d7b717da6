namespace Brim.Engine.Scheduling;

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

    /// <summary>The step's work by kind (decode rows, prefill tokens, attention positions): what the step cost model is fed.</summary>
    public StepShape Shape { get; internal set; }

    public bool IsEmpty => Chunks.Count == 0;

    internal void Clear()
    {
        Chunks.Clear();
        Preempted.Clear();
        Rejected.Clear();
        Swaps.Clear();
        TokenCount = 0;
        Shape = default;
    }
}
