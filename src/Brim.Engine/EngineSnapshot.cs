namespace Brim.Engine;

/// <summary>Engine gauges for metrics.</summary>
public readonly record struct EngineSnapshot(int Running, int Waiting, int UsedKvBlocks, int TotalKvBlocks, long Preemptions, long Steps)
{
    /// <summary>Preemptions that swapped K/V to host memory; the other <see cref="Preemptions"/> recomputed.</summary>
    public long SwapPreemptions { get; init; }

    /// <summary>Sequences swapped out now (counted in <see cref="Waiting"/>).</summary>
    public int Swapped { get; init; }

    /// <summary>KV blocks copied to host swap blocks since the engine started.</summary>
    public long SwappedOutBlocks { get; init; }

    /// <summary>KV blocks copied back from host swap blocks since the engine started (resumed sequences).</summary>
    public long SwappedInBlocks { get; init; }

    public int UsedSwapBlocks { get; init; }

    public int TotalSwapBlocks { get; init; }

    /// <summary>Tokens of starting sequences looked up in the prefix cache since the engine started.</summary>
    public long PrefixCacheQueriedTokens { get; init; }

    /// <summary>Of <see cref="PrefixCacheQueriedTokens"/>, those whose K/V was found cached.</summary>
    public long PrefixCacheHitTokens { get; init; }

    /// <summary>KV blocks the prefix cache indexes now (referenced by sequences or kept for later hits).</summary>
    public int CachedKvBlocks { get; init; }

    /// <summary>Cached blocks given up for new content since the engine started.</summary>
    public long PrefixCacheEvictions { get; init; }

    /// <summary>Speculative decoding's counters; null when it is not configured.</summary>
    public Speculative.SpeculationSnapshot? Speculation { get; init; }
}
