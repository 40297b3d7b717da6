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
    long ContextTokens);
