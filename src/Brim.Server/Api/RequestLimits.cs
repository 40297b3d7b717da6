namespace Brim.Server.Api;

/// <summary>
/// What one request may ask of the engine (<see cref="ServerOptions.MaxSequencesPerRequest"/>,
/// <see cref="ServerOptions.MaxTokensPerRequest"/>): a few hundred bytes of JSON must not become thousands of sequences
/// or a response of hundreds of MB. The limit is per request; a client that needs more sends several, or a batch.
/// </summary>
internal static class RequestLimits
{
    /// <summary>
    /// Refuses too many sequences (naming n, or the prompt when n is 1) and, when max_tokens was given, too many tokens
    /// (naming it); a defaulted max_tokens is cut in place in <paramref name="maxTokensPerPrompt"/> to fit instead.
    /// </summary>
    public static void Apply(ServerOptions options, int[] maxTokensPerPrompt, int n, bool maxTokensRequested, ApiKind kind, string maxTokensField)
    {
        var prompts = maxTokensPerPrompt.Length;
        var sequences = (long)prompts * n;
        if (sequences > options.MaxSequencesPerRequest)
        {
            var param = n > 1 ? "n" : kind == ApiKind.Chat ? "messages" : "prompt";
            throw ApiException.BadRequest(
                $"the request asks for {sequences} sequences ({prompts} prompts × n {n}) but this server runs at most {options.MaxSequencesPerRequest} per request; lower n or send fewer prompts per request",
                param, "too_many_sequences");
        }

        var total = maxTokensPerPrompt.Sum(t => (long)t) * n;
        if (total <= options.MaxTokensPerRequest)
        {
            return;
        }

        if (maxTokensRequested)
        {
            throw ApiException.BadRequest(
                $"'{maxTokensField}' × sequences is {total} tokens ({maxTokensPerPrompt.Max()} × {sequences}) but this server allows at most {options.MaxTokensPerRequest} output tokens per request; lower {maxTokensField} or n",
                maxTokensField, "too_many_tokens");
        }

        var share = (int)Math.Max(1, options.MaxTokensPerRequest / sequences);
        for (var i = 0; i < prompts; i++)
        {
            maxTokensPerPrompt[i] = Math.Min(maxTokensPerPrompt[i], share);
        }
    }
}
