using Brim.Engine.KvCache;

namespace Brim.Engine.Scheduling;

/// <summary>How a preempted sequence gives up its KV blocks.</summary>
public enum PreemptionMode
{
    /// <summary>Its blocks are dropped; its prompt and output so far are prefilled again when it resumes.</summary>
    Recompute,

    /// <summary>Its blocks are copied to host swap blocks and copied back when it resumes.</summary>
    Swap,
}

/// <summary>
/// Decides, per victim, whether preemption swaps its KV to host memory or drops it for recompute, and owns the host
/// swap-block pool (the engine's accounting of the backend's swap space). This class only decides; the
/// <see cref="Scheduler"/> acts. Not thread-safe: the step loop owns it.
/// </summary>
/// <remarks>
/// Cost model: both ways cost time on the device's one stream of work. Swapping moves every block twice (out now, in
/// on resume): <c>2 × blocks × bytesPerBlock / copyBytesPerSecond</c>. Recomputing prefills the tokens again, priced by
/// the engine's one <see cref="StepCostModel"/> (<see cref="StepCostModel.PrefillSeconds"/>: per prefill token plus the
/// attention positions a prefill from zero reads) — the same fit the offline step cap uses, so the two never disagree
/// about what a prefill token costs. Until the model is fitted, or when the backend says copies always win (infinite
/// bandwidth, the CPU), swapping is chosen; a tie also swaps (what is computed is kept). Either way it needs enough free
/// host blocks.
/// </remarks>
public sealed class PreemptionPolicy
{
    private readonly long _bytesPerBlock;

    /// <param name="cost">The engine's step cost model; null: a new one, which the scheduler then shares and feeds.</param>
    public PreemptionPolicy(BlockManager hostBlocks, long bytesPerBlock, double copyBytesPerSecond, StepCostModel? cost = null)
    {
        ArgumentNullException.ThrowIfNull(hostBlocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerBlock);
        if (!(copyBytesPerSecond > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(copyBytesPerSecond), copyBytesPerSecond, "must be positive");
        }

        HostBlocks = hostBlocks;
        _bytesPerBlock = bytesPerBlock;
        CopyBytesPerSecond = copyBytesPerSecond;
        Cost = cost ?? new StepCostModel();
    }

    /// <summary>The host swap blocks: free, or held by exactly the swapped sequences.</summary>
    public BlockManager HostBlocks { get; }

    public double CopyBytesPerSecond { get; }

    /// <summary>The step cost model recomputing is priced by (the scheduler's, fed by every step).</summary>
    public StepCostModel Cost { get; }

    /// <summary>Device-stream time to move <paramref name="blocks"/> blocks out and back in.</summary>
    public double SwapSeconds(int blocks) => 2.0 * blocks * _bytesPerBlock / CopyBytesPerSecond;

    /// <summary>Time to prefill <paramref name="tokens"/> again; null until the step cost model is fitted.</summary>
    public double? RecomputeSeconds(int tokens) => Cost.PrefillSeconds(tokens);

    /// <summary>The mode for a victim with <paramref name="computedTokens"/> tokens in <paramref name="blocks"/> KV blocks.</summary>
    public PreemptionMode Choose(int computedTokens, int blocks)
    {
        if (computedTokens == 0 || blocks == 0 || !HostBlocks.CanAppend(blocks))
        {
            return PreemptionMode.Recompute;
        }

        return RecomputeSeconds(computedTokens) is { } recompute && recompute < SwapSeconds(blocks)
            ? PreemptionMode.Recompute
            : PreemptionMode.Swap;
    }
}
