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

    /// <summary>
    /// OpenAI <c>logit_bias</c>: token id → a bias in [-100, 100] added to that token's logit before penalties and
    /// sampling (-100 in effect bans the token, +100 in effect forces it). Null or empty: no bias.
    /// </summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }

    public bool IsGreedy => Temperature == 0f;

    public bool HasLogitBias => LogitBias is { Count: > 0 };

    /// <summary>
    /// True when the device sampler can draw this request's tokens: it knows temperature, top-k, top-p and min-p and
    /// reports logprobs itself, but penalties and logit bias change the logits first, so such requests are sampled on
    /// the host (their rows' logits come back).
    /// </summary>
    public bool SamplesOnDevice =>
        PresencePenalty == 0f && FrequencyPenalty == 0f && RepetitionPenalty == 1f && !HasLogitBias;

    /// <summary>OpenAI's top_logprobs limit (the device returns as many).</summary>
    public const int MaxLogprobs = 20;

    public const int MaxStopStrings = 16;

    /// <summary>OpenAI's limits: at most 300 biased tokens, each bias in [-100, 100].</summary>
    public const int MaxLogitBiasEntries = 300;

    public const float MaxLogitBias = 100f;

    /// <summary>Validates without a vocabulary size (logit_bias ids are then only checked to be non-negative).</summary>
    public void Validate() => Validate(null);

    /// <summary>
    /// The one place the ranges of these fields are checked (the server's parser only checks JSON shapes). Throws
    /// <see cref="ArgumentException"/> whose ParamName is the offending property (the server maps it to a 400 naming the
    /// request field). <paramref name="vocabSize"/>, when known, bounds the token ids of <see cref="LogitBias"/>.
    /// </summary>
    public void Validate(int? vocabSize)
    {
        Require(float.IsFinite(Temperature) && Temperature >= 0f && Temperature <= 2f, nameof(Temperature), $"temperature must be between 0 and 2, got {Show(Temperature)}");
        Require(float.IsFinite(TopP) && TopP > 0f && TopP <= 1f, nameof(TopP), $"top_p must be greater than 0 and at most 1, got {Show(TopP)}");
        Require(TopK >= 0, nameof(TopK), $"top_k must be 0 or -1 (disabled) or positive, got {TopK}");
        Require(float.IsFinite(MinP) && MinP >= 0f && MinP <= 1f, nameof(MinP), $"min_p must be between 0 and 1, got {Show(MinP)}");
        Require(MaxTokens > 0, nameof(MaxTokens), $"max_tokens must be at least 1, got {MaxTokens}");
        Require(float.IsFinite(PresencePenalty) && PresencePenalty >= -2f && PresencePenalty <= 2f, nameof(PresencePenalty), $"presence_penalty must be between -2 and 2, got {Show(PresencePenalty)}");
        Require(float.IsFinite(FrequencyPenalty) && FrequencyPenalty >= -2f && FrequencyPenalty <= 2f, nameof(FrequencyPenalty), $"frequency_penalty must be between -2 and 2, got {Show(FrequencyPenalty)}");
        Require(float.IsFinite(RepetitionPenalty) && RepetitionPenalty > 0f && RepetitionPenalty <= 10f, nameof(RepetitionPenalty), $"repetition_penalty must be greater than 0 and at most 10, got {Show(RepetitionPenalty)}");
        Require(Logprobs is null || (Logprobs >= 0 && Logprobs <= MaxLogprobs), nameof(Logprobs), $"the number of top logprobs must be between 0 and {MaxLogprobs}, got {Logprobs}");
        Require(Stop.Count <= MaxStopStrings, nameof(Stop), $"stop takes at most {MaxStopStrings} strings, got {Stop.Count}");
        Require(Stop.All(s => !string.IsNullOrEmpty(s)), nameof(Stop), "stop strings must not be empty");
        ValidateLogitBias(vocabSize);
    }

    private void ValidateLogitBias(int? vocabSize)
    {
        if (LogitBias is not { } bias)
        {
            return;
        }

        Require(bias.Count <= MaxLogitBiasEntries, nameof(LogitBias), $"logit_bias takes at most {MaxLogitBiasEntries} tokens, got {bias.Count}");
        foreach (var (token, value) in bias)
        {
            var maxId = vocabSize is { } v ? v - 1 : int.MaxValue;
            Require(token >= 0 && token <= maxId, nameof(LogitBias),
                vocabSize is null ? $"logit_bias keys must be token ids (0 or more), got {token}" : $"logit_bias keys must be token ids between 0 and {maxId}, got {token}");
            Require(float.IsFinite(value) && value >= -MaxLogitBias && value <= MaxLogitBias, nameof(LogitBias),
                $"logit_bias values must be between -100 and 100, got {Show(value)} for token {token}");
        }
    }

    private static string Show(float value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static void Require(bool condition, string field, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, field);
        }
    }
}
