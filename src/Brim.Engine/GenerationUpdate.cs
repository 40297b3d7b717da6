using Brim.Core;

namespace Brim.Engine;

/// <summary>
/// What a sequence produced in one engine step: the new tokens, the text that is now safe to show (never half a UTF-8
/// character, never a prefix of a stop string), and, on the last update, why it finished.
/// </summary>
public sealed record GenerationUpdate
{
    public required RequestId Id { get; init; }

    public required IReadOnlyList<int> NewTokens { get; init; }

    public required string TextDelta { get; init; }

    /// <summary>Per new token: its log probability and the top alternatives, when the request asked for logprobs.</summary>
    public IReadOnlyList<TokenLogprobs>? Logprobs { get; init; }

    /// <summary>Set on the final update only.</summary>
    public FinishReason? FinishReason { get; init; }

    /// <summary>Why the engine failed the request (FinishReason.Error), for the API error message.</summary>
    public string? Error { get; init; }

    public required int PromptTokenCount { get; init; }

    /// <summary>Tokens generated so far, including this update's.</summary>
    public required int CompletionTokenCount { get; init; }

    public bool IsFinal => FinishReason is not null;
}

/// <summary>The log probability of a sampled token and of the most likely alternatives at that step.</summary>
public sealed record TokenLogprobs(int TokenId, float Logprob, IReadOnlyList<(int TokenId, float Logprob)> Top);
