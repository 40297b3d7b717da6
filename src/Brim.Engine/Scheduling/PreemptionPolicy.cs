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
/// on resume): <c>2 × blocks × bytesPerBlock / copyBytesPerSecond</c>. Recomputing prefills the tokens again:
/// <c>tokens × prefillSecondsPerToken</c>, measured by <see cref="ObserveForward"/> over steps that are mostly prefill
/// (a token-weighted, decaying average, so big throughput-bound steps dominate; the per-step fixed cost it keeps makes
/// recompute look dearer, never cheaper). Until a prefill step has been seen, or when the backend says copies always
/// win (infinite bandwidth, the CPU), swapping is chosen. Either way it needs enough free host blocks.
/// </remarks>
public sealed class PreemptionPolicy
{
    private const double Decay = 0.9;
    private readonly long _bytesPerBlock;
    private double _prefillSeconds;
    private double _prefillTokens;

    public PreemptionPolicy(BlockManager hostBlocks, long bytesPerBlock, double copyBytesPerSecond)
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
    }

    /// <summary>The host swap blocks: free, or held by exactly the swapped sequences.</summary>
    public BlockManager HostBlocks { get; }

    public double CopyBytesPerSecond { get; }

    /// <summary>Measured forward seconds per prefilled token; null until a mostly-prefill step has been observed.</summary>
    public double? PrefillSecondsPerToken => _prefillTokens > 0 ? _prefillSeconds / _prefillTokens : null;

    /// <summary>Feeds one forward pass into the recompute-rate estimate (steps with more decode than prefill tokens are ignored).</summary>
    public void ObserveForward(int prefillTokens, int decodeTokens, double forwardSeconds)
    {
        if (prefillTokens <= 0 || prefillTokens < decodeTokens || forwardSeconds <= 0)
        {
            return;
        }

        _prefillSeconds = (Decay * _prefillSeconds) + forwardSeconds;
        _prefillTokens = (Decay * _prefillTokens) + prefillTokens + decodeTokens;
    }

    /// <summary>Device-stream time to move <paramref name="blocks"/> blocks out and back in.</summary>
    public double SwapSeconds(int blocks) => 2.0 * blocks * _bytesPerBlock / CopyBytesPerSecond;

    /// <summary>Time to prefill <paramref name="tokens"/> again; null before any measurement.</summary>
    public double? RecomputeSeconds(int tokens) => tokens * PrefillSecondsPerToken;

    /// <summary>The mode for a victim with <paramref name="computedTokens"/> tokens in <paramref name="blocks"/> KV blocks.</summary>
    public PreemptionMode Choose(int computedTokens, int blocks)
    {
        if (computedTokens == 0 || blocks == 0 || !HostBlocks.CanAppend(blocks))
        {
            return PreemptionMode.Recompute;
        }

        return RecomputeSeconds(computedTokens) is { } recompute && recompute <= SwapSeconds(blocks)
            ? PreemptionMode.Recompute
            : PreemptionMode.Swap;
    }
}
