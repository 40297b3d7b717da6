using System.Text.Json;

namespace Brim.Server.Api;

/// <summary>
/// Which top-level request fields each generation endpoint takes, and what happens to the rest. A field Brim implements
/// is read by the parsers; a field that only labels the request (user, metadata, …) is type-checked and ignored; an
/// OpenAI field Brim does not implement is a 400 <c>unsupported_parameter</c> unless its value asks for nothing (tools
/// [], tool_choice "none", response_format text, …), because a silent 200 would hand the client an answer that ignored
/// what it asked for; a field no one defines is a 400 as OpenAI answers it ("Unrecognized request argument supplied"),
/// so a misspelt <c>temprature</c> is caught instead of quietly sampling at the default. docs/api.md is the table of the
/// same decisions. Fields inside a message object are not checked here: clients send assistant messages back as they
/// received them, with fields (refusal, annotations, audio) that carry nothing for the prompt.
/// </summary>
internal static class RequestFieldPolicy
{
    private enum Treatment
    {
        Supported,
        Ignored,
        Refused,
    }

    /// <param name="Allowed">For a refused field, the values that ask for nothing and so are accepted; null: none are.</param>
    /// <param name="Why">For a refused field, what Brim lacks, shown in the error.</param>
    private sealed record Field(Treatment Treatment, string? Why = null, Func<JsonElement, bool>? Allowed = null, JsonValueKind? IgnoredKind = null);

    private static readonly Dictionary<string, Field> Shared = new(StringComparer.Ordinal)
    {
        ["model"] = new(Treatment.Supported),
        ["frequency_penalty"] = new(Treatment.Supported),
        ["presence_penalty"] = new(Treatment.Supported),
        ["logit_bias"] = new(Treatment.Supported),
        ["logprobs"] = new(Treatment.Supported),
        ["max_tokens"] = new(Treatment.Supported),
        ["max_completion_tokens"] = new(Treatment.Supported),
        ["n"] = new(Treatment.Supported),
        ["seed"] = new(Treatment.Supported),
        ["service_tier"] = new(Treatment.Supported),
        ["stop"] = new(Treatment.Supported),
        ["stream"] = new(Treatment.Supported),
        ["stream_options"] = new(Treatment.Supported),
        ["temperature"] = new(Treatment.Supported),
        ["top_p"] = new(Treatment.Supported),

        // vLLM's extensions that Brim implements.
        ["top_k"] = new(Treatment.Supported),
        ["min_p"] = new(Treatment.Supported),
        ["repetition_penalty"] = new(Treatment.Supported),
        ["ignore_eos"] = new(Treatment.Supported),
        ["priority"] = new(Treatment.Supported),
        ["cache_salt"] = new(Treatment.Supported),

        // Brim's own: false opts a request out of speculative decoding.
        ["speculative_decoding"] = new(Treatment.Supported),

        // Labels for the caller's own bookkeeping or OpenAI's abuse monitoring and cache routing: they never change the
        // output, so accepting them keeps clients that always send them working.
        ["user"] = new(Treatment.Ignored, IgnoredKind: JsonValueKind.String),
        ["safety_identifier"] = new(Treatment.Ignored, IgnoredKind: JsonValueKind.String),
        ["prompt_cache_key"] = new(Treatment.Ignored, IgnoredKind: JsonValueKind.String),
    };

    private static readonly Dictionary<string, Field> ChatOnly = new(StringComparer.Ordinal)
    {
        ["messages"] = new(Treatment.Supported),
        ["top_logprobs"] = new(Treatment.Supported),
        ["metadata"] = new(Treatment.Ignored, IgnoredKind: JsonValueKind.Object),
        ["store"] = new(Treatment.Refused, "Brim keeps no completions to retrieve later", v => v.ValueKind == JsonValueKind.False),
        ["tools"] = new(Treatment.Refused, "Brim does not implement tool calling", IsEmptyArray),
        ["tool_choice"] = new(Treatment.Refused, "Brim does not implement tool calling", v => IsString(v, "none")),
        ["parallel_tool_calls"] = new(Treatment.Refused, "Brim does not implement tool calling"),
        ["functions"] = new(Treatment.Refused, "Brim does not implement function calling", IsEmptyArray),
        ["function_call"] = new(Treatment.Refused, "Brim does not implement function calling", v => IsString(v, "none")),
        ["response_format"] = new(Treatment.Refused, "Brim does not constrain output to JSON; only {\"type\":\"text\"} is accepted", IsTextFormat),
        ["audio"] = new(Treatment.Refused, "Brim generates text only"),
        ["modalities"] = new(Treatment.Refused, "Brim generates text only; only [\"text\"] is accepted", IsTextOnly),
        ["prediction"] = new(Treatment.Refused, "Brim does not implement predicted outputs"),
        ["reasoning_effort"] = new(Treatment.Refused, "the served model is not a reasoning model Brim can steer"),
        ["verbosity"] = new(Treatment.Refused, "Brim cannot steer the length of the model's answers"),
        ["web_search_options"] = new(Treatment.Refused, "Brim has no web search"),
    };

    private static readonly Dictionary<string, Field> CompletionOnly = new(StringComparer.Ordinal)
    {
        ["prompt"] = new(Treatment.Supported),
        ["echo"] = new(Treatment.Supported),
        ["best_of"] = new(Treatment.Refused, "Brim does not rank candidates server-side; use n", v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var b) && b == 1),
        ["suffix"] = new(Treatment.Refused, "Brim does not implement insertion", v => IsString(v, string.Empty)),
    };

    /// <summary>
    /// Fields only the router reads (a rule may match on them); on a request to a model by its own name they are refused
    /// as the table says, because no model here acts on them.
    /// </summary>
    private static readonly HashSet<string> RouterOnly = new(StringComparer.Ordinal) { "reasoning_effort" };

    /// <summary>Throws the 400 for the first field the endpoint refuses or does not know.</summary>
    /// <param name="routed">The request named the router's alias: the fields the router reads are accepted.</param>
    public static void Check(JsonElement root, ApiKind kind, bool routed = false)
    {
        var own = kind == ApiKind.Chat ? ChatOnly : CompletionOnly;
        foreach (var property in root.EnumerateObject())
        {
            string name;
            try
            {
                name = property.Name;
            }
            catch (InvalidOperationException)
            {
                // A lone surrogate escape (\ud800) in a field name cannot become a .NET string.
                throw ApiException.BadRequest("a field name of the request is not valid Unicode (a lone surrogate escape)", code: "invalid_unicode");
            }

            if (!own.TryGetValue(name, out var field) && !Shared.TryGetValue(name, out field))
            {
                throw ApiException.BadRequest($"Unrecognized request argument supplied: {Shown(name)}", Shown(name), "unknown_parameter");
            }

            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue; // JSON null is the field left out, as everywhere in the API
            }

            if (routed && RouterOnly.Contains(name))
            {
                continue; // Routing/RouteFeatures checks its value
            }

            if (field.Treatment == Treatment.Refused && field.Allowed?.Invoke(value) != true)
            {
                throw ApiException.BadRequest($"Unsupported parameter: '{name}' is not supported: {field.Why}. See docs/api.md for the fields Brim takes.", name, "unsupported_parameter");
            }

            if (field.IgnoredKind is { } kindWanted && value.ValueKind != kindWanted)
            {
                throw JsonFields.WrongType(name, kindWanted == JsonValueKind.Object ? "an object" : "a string", value);
            }
        }
    }

    /// <summary>The names of fields a kind of request takes or ignores (docs and tests list them from here).</summary>
    public static IReadOnlyList<string> Accepted(ApiKind kind) =>
        [.. Shared.Concat(kind == ApiKind.Chat ? ChatOnly : CompletionOnly).Where(f => f.Value.Treatment != Treatment.Refused).Select(f => f.Key)];

    /// <summary>The OpenAI fields a kind of request refuses when they ask for something.</summary>
    public static IReadOnlyList<string> Refused(ApiKind kind) =>
        [.. (kind == ApiKind.Chat ? ChatOnly : CompletionOnly).Where(f => f.Value.Treatment == Treatment.Refused).Select(f => f.Key)];

    // An unknown name is the client's text: bound what goes back into the error.
    private static string Shown(string name) => name.Length <= 64 ? name : name[..64] + "…";

    private static bool IsEmptyArray(JsonElement v) => v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0;

    private static bool IsString(JsonElement v, string expected) => v.ValueKind == JsonValueKind.String && v.GetString() == expected;

    private static bool IsTextFormat(JsonElement v) =>
        v.ValueKind == JsonValueKind.Object && v.TryGetProperty("type", out var type) && IsString(type, "text");

    private static bool IsTextOnly(JsonElement v) =>
        v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(m => IsString(m, "text"));
}
