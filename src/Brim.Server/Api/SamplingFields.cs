using System.Globalization;
using System.Text.Json;
using Brim.Core;

namespace Brim.Server.Api;

/// <summary>
/// The request fields /v1/completions and /v1/chat/completions share: model, sampling, n, streaming, scheduling. This
/// parser checks JSON shapes only; the ranges belong to their owners: <see cref="SamplingParams.Validate(int?)"/> for
/// the sampling fields, <see cref="ContextWindow"/> for prompt length and max_tokens, <see cref="RequestLimits"/> for
/// what one request may ask of the engine. Their <see cref="ArgumentException"/>s become a 400 naming the request field.
/// </summary>
internal static class SamplingFields
{
    public static GenerationSpec Parse(JsonElement root, ApiKind kind, IReadOnlyList<int[]> prompts, IReadOnlyList<string>? echo, ServerContext server)
    {
        var model = JsonFields.String(root, "model");
        // The caller resolved the request to this model's view; a name that is neither it nor the router's alias it came
        // through means the body was parsed against the wrong model.
        if (model is not null && model != server.ModelName && model != server.RoutedAs)
        {
            throw server.ModelNotFound(model);
        }

        var window = new ContextWindow(server.Engine.MaxModelLength);
        var promptField = kind == ApiKind.Chat ? "messages" : "prompt";
        foreach (var prompt in prompts)
        {
            Owned(() => window.CheckPrompt(prompt.Length), promptField, "context_length_exceeded");
        }

        // max_completion_tokens is OpenAI's newer name; a request that sends both means the newer one.
        var maxTokensField = JsonFields.Get(root, "max_completion_tokens") is not null ? "max_completion_tokens" : "max_tokens";
        var requested = JsonFields.Int(root, maxTokensField, int.MinValue, int.MaxValue);
        var n = JsonFields.Int(root, "n", 1, server.Options.MaxChoices) ?? 1;
        var stream = JsonFields.Bool(root, "stream") ?? false;
        var includeUsage = ParseStreamOptions(root, stream);
        _ = JsonFields.String(root, "user"); // accepted for compatibility, type-checked, not used

        var topK = JsonFields.Int(root, "top_k", int.MinValue, int.MaxValue) ?? 0;
        var sampling = new SamplingParams
        {
            Temperature = JsonFields.Number(root, "temperature") ?? 1f,
            TopP = JsonFields.Number(root, "top_p") ?? 1f,
            TopK = topK == -1 ? 0 : topK, // vLLM's -1 means disabled, as 0 does here
            MinP = JsonFields.Number(root, "min_p") ?? 0f,
            Seed = JsonFields.Long(root, "seed"),
            Stop = JsonFields.StringOrList(root, "stop", int.MaxValue) ?? [],
            PresencePenalty = JsonFields.Number(root, "presence_penalty") ?? 0f,
            FrequencyPenalty = JsonFields.Number(root, "frequency_penalty") ?? 0f,
            RepetitionPenalty = JsonFields.Number(root, "repetition_penalty") ?? 1f,
            IgnoreEos = JsonFields.Bool(root, "ignore_eos") ?? false,
            Logprobs = ParseLogprobs(root, kind),
            LogitBias = ParseLogitBias(root),
            MaxTokens = requested ?? 1, // the real value is set per prompt below; this checks the requested one's range
        };
        var names = new FieldNames(maxTokensField, kind == ApiKind.Chat && sampling.Logprobs is not null ? "top_logprobs" : "logprobs");
        Owned(() => sampling.Validate(server.Tokenizer.VocabSize), names);

        // OpenAI's defaults: 16 tokens for completions, the rest of the context for chat.
        var defaultMaxTokens = kind == ApiKind.Chat ? int.MaxValue : 16;
        var maxTokens = new int[prompts.Count];
        for (var i = 0; i < prompts.Count; i++)
        {
            var length = prompts[i].Length;
            maxTokens[i] = Owned(() => window.MaxTokensFor(length, requested, defaultMaxTokens), names, "context_length_exceeded");
        }

        RequestLimits.Apply(server.Options, maxTokens, n, requested is not null, kind, maxTokensField);
        var (trafficClass, tier) = ParseServiceTier(root);
        return new GenerationSpec
        {
            Kind = kind,
            Model = server.ModelName,
            Prompts = prompts,
            EchoTexts = echo,
            Sampling = sampling,
            MaxTokensPerPrompt = maxTokens,
            N = n,
            Stream = stream,
            IncludeUsage = includeUsage,
            TrafficClass = trafficClass,
            Priority = JsonFields.Int(root, "priority", int.MinValue, int.MaxValue) ?? 0,
            ServiceTier = tier,
            CacheSalt = ParseCacheSalt(root),
            AllowSpeculation = JsonFields.Bool(root, "speculative_decoding") ?? true,
        };
    }

    /// <summary>
    /// vLLM's cache_salt: a non-empty string of at most 256 characters; requests share cached prompt blocks only with
    /// requests of the same salt (so a tenant cannot probe another's prompts by timing).
    /// </summary>
    private static string? ParseCacheSalt(JsonElement root)
    {
        var salt = JsonFields.String(root, "cache_salt");
        if (salt is not null && (salt.Length == 0 || salt.Length > 256))
        {
            throw ApiException.BadRequest("'cache_salt' must be a non-empty string of at most 256 characters", "cache_salt");
        }

        return salt;
    }

    private static bool ParseStreamOptions(JsonElement root, bool stream)
    {
        if (JsonFields.Get(root, "stream_options") is not { } streamOptions)
        {
            return false;
        }

        if (streamOptions.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.WrongType("stream_options", "an object", streamOptions);
        }

        if (!stream)
        {
            throw ApiException.BadRequest("'stream_options' is only allowed when 'stream' is true", "stream_options");
        }

        return JsonFields.Bool(streamOptions, "include_usage") ?? false;
    }

    /// <summary>Chat: <c>logprobs</c> (bool) and <c>top_logprobs</c>. Completions: <c>logprobs</c> (the top count).</summary>
    private static int? ParseLogprobs(JsonElement root, ApiKind kind)
    {
        if (kind == ApiKind.Completion)
        {
            return JsonFields.Int(root, "logprobs", int.MinValue, int.MaxValue);
        }

        var wanted = JsonFields.Bool(root, "logprobs") ?? false;
        var top = JsonFields.Int(root, "top_logprobs", int.MinValue, int.MaxValue);
        if (top is not null && !wanted)
        {
            throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
        }

        return wanted ? top ?? 0 : null;
    }

    /// <summary><c>logit_bias</c>: an object whose keys are token ids written as strings and whose values are numbers.</summary>
    private static Dictionary<int, float>? ParseLogitBias(JsonElement root)
    {
        if (JsonFields.Get(root, "logit_bias") is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw JsonFields.WrongType("logit_bias", "an object mapping token ids to biases", value);
        }

        var bias = new Dictionary<int, float>();
        foreach (var entry in value.EnumerateObject())
        {
            string key;
            try
            {
                key = entry.Name;
            }
            catch (InvalidOperationException)
            {
                throw ApiException.BadRequest("'logit_bias' has a key that is not valid Unicode", "logit_bias");
            }

            if (!int.TryParse(key, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var token))
            {
                var shown = key.Length <= 32 ? key : key[..32] + "…";
                throw ApiException.BadRequest($"'logit_bias' keys must be token ids, got '{shown}'", "logit_bias");
            }

            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetDouble(out var number))
            {
                throw ApiException.BadRequest($"'logit_bias' values must be numbers; the value for token {token} is not", "logit_bias");
            }

            bias[token] = (float)number;
            if (bias.Count > SamplingParams.MaxLogitBiasEntries)
            {
                break; // the count is SamplingParams' to refuse; no need to read the rest of an oversized map
            }
        }

        return bias;
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

    /// <summary>The request field a <see cref="SamplingParams"/> property was read from, where its name differs.</summary>
    private sealed record FieldNames(string MaxTokens, string Logprobs)
    {
        public string For(string? property) => property switch
        {
            nameof(SamplingParams.MaxTokens) => MaxTokens,
            nameof(SamplingParams.Logprobs) => Logprobs,
            null => string.Empty,
            _ => JsonNamingPolicy.SnakeCaseLower.ConvertName(property),
        };
    }

    private static void Owned(Action check, string field, string? code = null) =>
        Owned(() => { check(); return 0; }, new FieldNames("max_tokens", "logprobs"), code, field);

    private static void Owned(Action check, FieldNames names) =>
        Owned(() => { check(); return 0; }, names);

    /// <summary>Runs an owner's check and turns its <see cref="ArgumentException"/> into the 400 naming the request field.</summary>
    private static T Owned<T>(Func<T> check, FieldNames names, string? code = null, string? field = null)
    {
        try
        {
            return check();
        }
        catch (ArgumentException e)
        {
            var param = field ?? names.For(e.ParamName);
            var message = StripParamSuffix(e);
            if (e.ParamName == nameof(SamplingParams.MaxTokens) && param != "max_tokens")
            {
                message = message.Replace("max_tokens", param, StringComparison.Ordinal);
            }

            throw ApiException.BadRequest(message, param, code);
        }
    }

    /// <summary>ArgumentException appends " (Parameter 'X')" to its message; the envelope has a param field for that.</summary>
    public static string StripParamSuffix(ArgumentException e)
    {
        var message = e.Message;
        var at = e.ParamName is null ? -1 : message.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
        return at < 0 ? message : message[..at];
    }
}
