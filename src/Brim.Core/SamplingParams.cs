namespace Brim.Core;

/// <summary>
/// How to pick each next token and when to stop. Defaults follow the OpenAI API (temperature 1, top_p 1,
/// max_tokens 16); <see cref="Temperature"/> 0 means greedy.
/// </summary>
public sealed record SamplingParams
{
    public static SamplingParams Greedy(int maxTokens) => new() { Temperature = 0f, MaxTokens = maxTokens };

    public float Temperature { get; init; } = 1f;

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability sums to at least this.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Keep only the k most likely tokens; 0 disables.</summary>
    public int TopK { get; init; }

    /// <summary>Drop tokens whose probability is below this fraction of the most likely token's; 0 disables.</summary>
    public float MinP { get; init; }

    /// <summary>Seeds the sequence's own random stream, so the same seed gives the same text.</summary>
    public long? Seed { get; init; }

    public int MaxTokens { get; init; } = 16;

    /// <summary>Strings that end generation; the matched stop string is not part of the output.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Token ids that end generation (in addition to the model's end-of-sequence ids).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Keep generating past end-of-sequence tokens (benchmarks need fixed output lengths).</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>OpenAI presence penalty in [-2, 2]: subtracted once from every token already generated.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>OpenAI frequency penalty in [-2, 2]: subtracted per occurrence of a token already generated.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>CTRL-style repetition penalty (&gt; 0, 1 disables) over prompt and generated tokens.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>Return the log probability of each sampled token plus this many top alternatives; null disables.</summary>
    public int? Logprobs { get; init; }

    public bool IsGreedy => Temperature == 0f;

    /// <summary>True when the sampler needs nothing beyond the logits of this step (no penalties, no logprobs).</summary>
    public bool IsStateless =>
        PresencePenalty == 0f && FrequencyPenalty == 0f && RepetitionPenalty == 1f && Logprobs is null;

    public const int MaxLogprobs = 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field (the server maps it to a 400).</summary>
    public void Validate()
    {
        Require(float.IsFinite(Temperature) && Temperature >= 0f && Temperature <= 2f, nameof(Temperature), "temperature must be between 0 and 2");
        Require(float.IsFinite(TopP) && TopP > 0f && TopP <= 1f, nameof(TopP), "top_p must be in (0, 1]");
        Require(TopK >= 0, nameof(TopK), "top_k must be 0 (disabled) or positive");
        Require(float.IsFinite(MinP) && MinP >= 0f && MinP <= 1f, nameof(MinP), "min_p must be in [0, 1]");
        Require(MaxTokens > 0, nameof(MaxTokens), "max_tokens must be at least 1");
        Require(float.IsFinite(PresencePenalty) && PresencePenalty >= -2f && PresencePenalty <= 2f, nameof(PresencePenalty), "presence_penalty must be between -2 and 2");
        Require(float.IsFinite(FrequencyPenalty) && FrequencyPenalty >= -2f && FrequencyPenalty <= 2f, nameof(FrequencyPenalty), "frequency_penalty must be between -2 and 2");
        Require(float.IsFinite(RepetitionPenalty) && RepetitionPenalty > 0f && RepetitionPenalty <= 10f, nameof(RepetitionPenalty), "repetition_penalty must be in (0, 10]");
        Require(Logprobs is null || (Logprobs >= 0 && Logprobs <= MaxLogprobs), nameof(Logprobs), $"logprobs must be between 0 and {MaxLogprobs}");
        Require(Stop.Count <= 16 && Stop.All(s => !string.IsNullOrEmpty(s)), nameof(Stop), "stop takes at most 16 non-empty strings");
    }

    private static void Require(bool condition, string field, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, field);
        }
    }
}
