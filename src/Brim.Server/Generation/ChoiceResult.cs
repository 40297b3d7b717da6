using System.Text;
using Brim.Core;
using Brim.Engine;

namespace Brim.Server.Generation;

/// <summary>Everything one choice produced, gathered for a non-streaming response.</summary>
internal sealed class ChoiceResult
{
    public StringBuilder Text { get; } = new();

    public List<TokenLogprobs>? Logprobs { get; init; }

    public FinishReason? FinishReason { get; set; }

    public string? Error { get; set; }

    public GenerationErrorKind? ErrorKind { get; set; }

    public int PromptTokens { get; set; }

    public int CompletionTokens { get; set; }

    /// <summary>Prompt tokens whose K/V came from the prefix cache.</summary>
    public int CachedPromptTokens { get; set; }

    public void Add(GenerationUpdate update)
    {
        Text.Append(update.TextDelta);
        if (update.Logprobs is { } logprobs)
        {
            Logprobs?.AddRange(logprobs);
        }

        PromptTokens = update.PromptTokenCount;
        CompletionTokens = update.CompletionTokenCount;
        CachedPromptTokens = update.CachedPromptTokenCount;
        FinishReason ??= update.FinishReason;
        Error ??= update.Error;
        ErrorKind ??= update.ErrorKind;
    }
}
