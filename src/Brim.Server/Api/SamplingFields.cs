using System.Text.Json;
using Brim.Core;

namespace Brim.Server.Api;

/// <summary>
/// The request fields /v1/completions and /v1/chat/completions share: model, sampling, n, streaming, scheduling.
/// </summary>
internal static class SamplingFields
{
    public const int MaxStopStrings = 16;

    public static GenerationSpec Parse(JsonElement root, ApiKind kind, IReadOnlyList<int[]> prompts, IReadOnlyList<string>? echo, ServerContext server)
    {
        var model = JsonFields.String(root, "model");
        if (model is not null && model != server.ModelName)
        {
            throw new ApiException(404, $"the model '{ApiText.Truncate(model)}' does not exist; this server serves '{server.ModelName}'", "model", "model_not_found");
        }

        var maxModelLength = server.Engine.MaxModelLength;
        foreach (var prompt in prompts)
        {
            if (prompt.Length >= maxModelLength)
            {
                var what = kind == ApiKind.Chat ? "the messages take" : "the prompt has";
                throw ApiException.BadRequest(
                    $"{what} {prompt.Length} tokens but this model's context is {maxModelLength} tokens: the prompt may have at most {maxModelLength - 1} tokens, leaving room for one output token",
                    kind == ApiKind.Chat ? "messages" : "prompt", "context_length_exceeded");
            }
        }

        var maxTokens = JsonFields.Int(root, "max_completion_tokens", 1, int.MaxValue) ?? JsonFields.Int(root, "max_tokens", 1, int.MaxValue);
        if (maxTokens is { } requested)
        {
            var longest = prompts.Max(p => p.Length);
            if (longest + requested > maxModelLength)
            {
                var name = root.TryGetProperty("max_completion_tokens", out _) ? "max_completion_tokens" : "max_tokens";
                throw ApiException.BadRequest(
                    $"'{name}' is too large: {requested}. This model's context is {maxModelLength} tokens and the prompt has {longest}, so at most {maxModelLength - longest} can be generated",
                    name, "context_length_exceeded");
            }
        }

        var n = JsonFields.Int(root, "n", 1, server.Options.MaxChoices) ?? 1;
        var stream = JsonFields.Bool(root, "stream") ?? false;
        var includeUsage = false;
        if (JsonFields.Get(root, "stream_options") is { } streamOptions)
        {
            if (streamOptions.ValueKind != JsonValueKind.Object)
            {
                throw JsonFields.WrongType("stream_options", "an object", streamOptions);
            }

            if (!stream)
            {
                throw ApiException.BadRequest("'stream_options' is only allowed when 'stream' is true", "stream_options");
            }

            includeUsage = JsonFields.Bool(streamOptions, "include_usage") ?? false;
        }

        _ = JsonFields.String(root, "user"); // accepted for compatibility, type-checked, not used

        var topK = JsonFields.Int(root, "top_k", -1, int.MaxValue) ?? 0;
        var sampling = new SamplingParams
        {
            Temperature = JsonFields.Float(root, "temperature", 0f, 2f) ?? 1f,
            TopP = JsonFields.Float(root, "top_p", 0f, 1f) ?? 1f,
            TopK = topK < 0 ? 0 : topK, // vLLM's -1 means disabled, as 0 does here
            MinP = JsonFields.Float(root, "min_p", 0f, 1f) ?? 0f,
            Seed = JsonFields.Long(root, "seed"),
            Stop = JsonFields.StringOrList(root, "stop", MaxStopStrings) ?? [],
            PresencePenalty = JsonFields.Float(root, "presence_penalty", -2f, 2f) ?? 0f,
            FrequencyPenalty = JsonFields.Float(root, "frequency_penalty", -2f, 2f) ?? 0f,
            RepetitionPenalty = JsonFields.Float(root, "repetition_penalty", float.Epsilon, 10f) ?? 1f,
            IgnoreEos = JsonFields.Bool(root, "ignore_eos") ?? false,
            Logprobs = ParseLogprobs(root, kind),
            MaxTokens = 1, // per choice, see GenerationSpec.SamplingFor
        };
        ValidateSampling(sampling);

        var (trafficClass, tier) = ParseServiceTier(root);
        return new GenerationSpec
        {
            Kind = kind,
            Model = server.ModelName,
            Prompts = prompts,
            EchoTexts = echo,
            Sampling = sampling,
            MaxTokens = maxTokens,
            DefaultMaxTokens = kind == ApiKind.Chat ? maxModelLength : 16, // OpenAI: 16 for completions, the context for chat
            N = n,
            Stream = stream,
            IncludeUsage = includeUsage,
            TrafficClass = trafficClass,
            Priority = JsonFields.Int(root, "priority", int.MinValue, int.MaxValue) ?? 0,
            ServiceTier = tier,
        };
    }

    /// <summary>Chat: <c>logprobs</c> (bool) and <c>top_logprobs</c> (0..20). Completions: <c>logprobs</c> (0..5 in OpenAI, 0..20 here).</summary>
    private static int? ParseLogprobs(JsonElement root, ApiKind kind)
    {
        if (kind == ApiKind.Completion)
        {
            return JsonFields.Int(root, "logprobs", 0, SamplingParams.MaxLogprobs);
        }

        var wanted = JsonFields.Bool(root, "logprobs") ?? false;
        var top = JsonFields.Int(root, "top_logprobs", 0, SamplingParams.MaxLogprobs);
        if (top is not null && !wanted)
        {
            throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
        }

        return wanted ? top ?? 0 : null;
    }

    private static (TrafficClass, string?) ParseServiceTier(JsonElement root)
    {
        var tier = JsonFields.String(root, "service_tier");
        return tier switch
        {
            null => (TrafficClass.Online, null),
            "auto" or "default" or "priority" => (TrafficClass.Online, tier),
            "flex" => (TrafficClass.Offline, tier),
            _ => throw ApiException.BadRequest($"'service_tier' must be one of auto, default, flex, priority; got '{ApiText.Truncate(tier)}'", "service_tier"),
        };
    }

    private static void ValidateSampling(SamplingParams sampling)
    {
        try
        {
            sampling.Validate();
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(StripParamSuffix(e), ToSnakeCase(e.ParamName));
        }
    }

    /// <summary>ArgumentException appends " (Parameter 'X')" to its message; the envelope has a param field for that.</summary>
    public static string StripParamSuffix(ArgumentException e)
    {
        var message = e.Message;
        var at = e.ParamName is null ? -1 : message.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
        return at < 0 ? message : message[..at];
    }

    private static string? ToSnakeCase(string? name) => name is null ? null : JsonNamingPolicy.SnakeCaseLower.ConvertName(name);
}
