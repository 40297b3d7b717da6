using Brim.Core;

namespace Brim.Engine;

/// <summary>One sequence to generate: a tokenized prompt, how to sample, and who is waiting for it.</summary>
public sealed record GenerationRequest
{
    public required RequestId Id { get; init; }

    public required IReadOnlyList<int> PromptTokens { get; init; }

    public SamplingParams Sampling { get; init; } = new();

    public TrafficClass TrafficClass { get; init; } = TrafficClass.Online;

    /// <summary>Scheduling priority within a class; lower runs first (vLLM's convention). Ties go to the earlier arrival.</summary>
    public int Priority { get; init; }

    /// <summary>
    /// This sequence's place among the sequences one client request submitted together (its choice index: prompt × n).
    /// Within a priority, waiting sequences are served by this rank first, then by arrival: every request's first
    /// sequence before any request's second, so one request of hundreds of sequences cannot hold the queue while a
    /// one-sequence request that arrived after it waits for all of them.
    /// </summary>
    public int FairShareRank { get; init; }

    /// <summary>
    /// Mixed into the prefix cache's block hashes (vLLM's cache_salt): only requests with the same salt share cached
    /// prompt blocks, so one tenant cannot learn from timing what another tenant's prompts were. Null shares with all unsalted.
    /// </summary>
    public string? CacheSalt { get; init; }

    /// <summary>
    /// Whether the engine may verify draft tokens for this request when speculative decoding is configured (the output's
    /// distribution is the same either way; false opts out, e.g. to measure the plain decode path).
    /// </summary>
    public bool AllowSpeculation { get; init; } = true;
}
