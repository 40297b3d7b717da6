namespace Brim.Engine;

/// <summary>What one engine step did and how long it took: the raw material of occupancy, MFU/MBU and throughput.</summary>
public readonly record struct StepRecord(
    long Step,
    int Sequences,
    int PrefillTokens,
    int DecodeTokens,
    int SampledTokens,
    int Running,
    int Waiting,
    int MaxRunning,
    int UsedKvBlocks,
    int TotalKvBlocks,
    int Preempted,
    double ForwardSeconds,
    double StepSeconds,
    long ContextTokens)
{
    /// <summary>Running sequences of the offline class after the step (the rest are online).</summary>
    public int RunningOffline { get; init; }

    /// <summary>Waiting sequences of the offline class after the step (the rest are online).</summary>
    public int WaitingOffline { get; init; }

    /// <summary>Tokens (prefill and decode) this step computed for offline sequences.</summary>
    public int OfflineTokens { get; init; }

    /// <summary>KV blocks copied to host swap space before this step (<see cref="Preempted"/> counts sequences of both modes).</summary>
    public int SwappedOutBlocks { get; init; }

    /// <summary>KV blocks copied back from host swap space before this step (resumed sequences).</summary>
    public int SwappedInBlocks { get; init; }

    /// <summary>Preemptions by swap since the engine started (the rest of the preemptions recomputed).</summary>
    public long SwapPreemptions { get; init; }

    /// <summary>Prompt tokens of the sequences this step started, looked up in the prefix cache.</summary>
    public int PrefixQueriedTokens { get; init; }

    /// <summary>Of <see cref="PrefixQueriedTokens"/>, those found cached (not computed).</summary>
    public int PrefixHitTokens { get; init; }

    /// <summary>What speculative decoding did in this step (all zero when it is off).</summary>
    public Speculative.SpeculationStep Speculation { get; init; }
}
