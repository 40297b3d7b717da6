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

    /// <summary>What kind of failure <see cref="Error"/> is (set with it), so callers map it without reading the text.</summary>
    public GenerationErrorKind? ErrorKind { get; init; }

    public required int PromptTokenCount { get; init; }

    /// <summary>Tokens generated so far, including this update's.</summary>
    public required int CompletionTokenCount { get; init; }

    /// <summary>Prompt tokens whose K/V came from the prefix cache instead of being computed (OpenAI's cached_tokens).</summary>
    public int CachedPromptTokenCount { get; init; }

    public bool IsFinal => FinishReason is not null;
}

/// <summary>Kinds of engine failure, for callers that answer differently (the server: the client's fault or the server's).</summary>
public enum GenerationErrorKind
{
    /// <summary>A step failed; the request was fine.</summary>
    Internal,

    /// <summary>The prompt needs more KV blocks than the whole cache has: it can never run on this engine.</summary>
    PromptExceedsKvCache,

    /// <summary>A request with the same id is already running.</summary>
    DuplicateRequestId,
}

/// <summary>The log probability of a sampled token and of the most likely alternatives at that step.</summary>
public sealed record TokenLogprobs(int TokenId, float Logprob, IReadOnlyList<(int TokenId, float Logprob)> Top);
