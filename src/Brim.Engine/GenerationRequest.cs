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
    /// Mixed into the prefix cache's block hashes (vLLM's cache_salt): only requests with the same salt share cached
    /// prompt blocks, so one tenant cannot learn from timing what another tenant's prompts were. Null shares with all unsalted.
    /// </summary>
    public string? CacheSalt { get; init; }
}
