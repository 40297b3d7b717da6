using Brim.Core;

namespace Brim.Server.Api;

/// <summary>Which OpenAI endpoint a request came through; it decides the response shapes.</summary>
public enum ApiKind
{
    Completion,
    Chat,
}

/// <summary>
/// A validated /v1/completions or /v1/chat/completions request: tokenized prompts and everything needed to turn
/// them into engine requests and to shape the response. Choice <c>p * N + i</c> is the i-th sample of prompt p.
/// </summary>
internal sealed record GenerationSpec
{
    public required ApiKind Kind { get; init; }

    public required string Model { get; init; }

    public required IReadOnlyList<int[]> Prompts { get; init; }

    /// <summary>Text put before each prompt's output (completions with <c>echo</c>); null when not echoing.</summary>
    public IReadOnlyList<string>? EchoTexts { get; init; }

    /// <summary>Sampling shared by every choice; max_tokens and the seed are set per choice by <see cref="SamplingFor"/>.</summary>
    public required SamplingParams Sampling { get; init; }

    /// <summary>The max_tokens each prompt's choices run with (requested, or the default cut to the context left).</summary>
    public required IReadOnlyList<int> MaxTokensPerPrompt { get; init; }

    public int N { get; init; } = 1;

    public bool Stream { get; init; }

    public bool IncludeUsage { get; init; }

    /// <summary>Whether choices carry logprobs (then <see cref="SamplingParams.Logprobs"/> holds the top count).</summary>
    public bool Logprobs => Sampling.Logprobs is not null;

    public TrafficClass TrafficClass { get; init; } = TrafficClass.Online;

    public int Priority { get; init; }

    /// <summary>The service_tier as the client sent it, echoed in responses.</summary>
    public string? ServiceTier { get; init; }

    /// <summary>vLLM's cache_salt: only requests with the same salt share cached prompt blocks; null shares with every unsalted request.</summary>
    public string? CacheSalt { get; init; }

    /// <summary>Brim's speculative_decoding: false opts the request out of speculative decoding (same output distribution, plain decode steps).</summary>
    public bool AllowSpeculation { get; init; } = true;

    public int ChoiceCount => Prompts.Count * N;

    public SamplingParams SamplingFor(int choice)
    {
        var maxTokens = MaxTokensPerPrompt[choice / N];
        var seed = Sampling.Seed is { } s ? s + (choice % N) : (long?)null;
        return Sampling with { MaxTokens = maxTokens, Seed = seed };
    }
}
