namespace Brim.Core;

/// <summary>Why a sequence stopped producing tokens. Names follow the OpenAI API's <c>finish_reason</c>.</summary>
public enum FinishReason
{
    /// <summary>An end-of-sequence token, a stop token id or a stop string was produced.</summary>
    Stop,

    /// <summary>max_tokens was reached, or the model's context is full.</summary>
    Length,

    /// <summary>The caller cancelled (a client disconnect, a cancelled batch).</summary>
    Cancelled,

    /// <summary>The engine could not run the request (for example a prompt that can never fit the KV cache).</summary>
    Error,
}
