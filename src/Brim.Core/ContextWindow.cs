namespace Brim.Core;

/// <summary>
/// What a model's context allows a request: the one owner of the prompt-length check and of the default and largest
/// max_tokens, shared by the HTTP parser and the in-process chat client. A prompt must leave room for one output token;
/// prompt plus max_tokens may not exceed the context.
/// </summary>
public readonly record struct ContextWindow(int MaxModelLength)
{
    /// <summary>Throws <see cref="ArgumentException"/> (ParamName "prompt") when the prompt leaves no room for output.</summary>
    public void CheckPrompt(int promptTokens)
    {
        if (promptTokens >= MaxModelLength)
        {
            throw new ArgumentException(
                $"the prompt has {promptTokens} tokens but this model's context is {MaxModelLength} tokens: the prompt may have at most {MaxModelLength - 1} tokens, leaving room for one output token",
                "prompt");
        }
    }

    /// <summary>Output tokens left after a prompt (at least 1 once <see cref="CheckPrompt"/> passed).</summary>
    public int Room(int promptTokens) => MaxModelLength - promptTokens;

    /// <summary>
    /// The max_tokens a sequence runs with: <paramref name="requested"/> when given (it must fit the context: else an
    /// <see cref="ArgumentException"/> with ParamName <see cref="SamplingParams.MaxTokens"/>), otherwise
    /// <paramref name="defaultTokens"/> cut to the room the prompt leaves.
    /// </summary>
    public int MaxTokensFor(int promptTokens, int? requested, int defaultTokens)
    {
        var room = Room(promptTokens);
        if (requested is not { } tokens)
        {
            return Math.Max(1, Math.Min(defaultTokens, room));
        }

        if (tokens > room)
        {
            throw new ArgumentException(
                $"max_tokens is too large: {tokens}. This model's context is {MaxModelLength} tokens and the prompt has {promptTokens}, so at most {room} can be generated",
                nameof(SamplingParams.MaxTokens));
        }

        return tokens;
    }
}
