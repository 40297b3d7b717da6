using System.Text.Json;

namespace Brim.Engine.Speculative;

/// <summary>How the engine speculates: the proposer and its limits, and whether the per-step policy decides.</summary>
public enum SpeculationMode
{
    /// <summary>Each step, <see cref="SpeculationPolicy"/> picks each sequence's draft length from its measured acceptance and the step's cost (0 = off).</summary>
    Adaptive,

    /// <summary>Every decoding sequence that opts in gets the full draft length every step (benchmarks and tests).</summary>
    Always,
}

/// <summary>
/// Speculative decoding settings, in vLLM's <c>--speculative-config</c> vocabulary: <c>method</c> ("ngram"),
/// <c>num_speculative_tokens</c> (k, the longest draft), <c>prompt_lookup_max</c> / <c>prompt_lookup_min</c> (the n-gram
/// sizes looked up), <c>model</c> for "draft_model", and Brim's own <c>policy</c> ("adaptive", the default, or "always")
/// and <c>draft_layers</c> (run only the draft model's first N layers).
/// </summary>
public sealed record SpeculativeConfig
{
    public const string NGram = "ngram";

    /// <summary>A smaller model of the same tokenizer (vLLM's "draft_model"); the host loads it (<see cref="DraftModel"/> path).</summary>
    public const string DraftModel = "draft_model";

    /// <summary>The JSON keys <see cref="Parse"/> takes; any other is refused by name.</summary>
    public static readonly IReadOnlyList<string> Keys = ["method", "model", "num_speculative_tokens", "prompt_lookup_max", "prompt_lookup_min", "policy", "draft_layers"];

    public string Method { get; init; } = NGram;

    /// <summary>The draft model (path or local Hugging Face name) for <see cref="DraftModel"/>; loaded by the host.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// When set, the draft model runs only its first this many layers, then its own final norm and output head: a
    /// truncated copy of a model (of the target itself, early-exit style) as the draft, where no trained smaller model of
    /// the same tokenizer exists. Null: every layer.
    /// </summary>
    public int? DraftLayers { get; init; }

    /// <summary>The longest draft a sequence verifies in one step.</summary>
    public int NumSpeculativeTokens { get; init; } = 4;

    public int PromptLookupMax { get; init; } = 4;

    public int PromptLookupMin { get; init; } = 2;

    public SpeculationMode Mode { get; init; } = SpeculationMode.Adaptive;

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is out of range or unsupported.</summary>
    public void Validate()
    {
        if (Method is not (NGram or DraftModel))
        {
            throw new ArgumentException($"speculative method '{Method}' is not supported (supported: {NGram}, {DraftModel})");
        }

        if ((Method == DraftModel) != (Model is not null))
        {
            throw new ArgumentException(Method == DraftModel
                ? "speculative method 'draft_model' needs 'model': the draft model's path"
                : "speculative config key 'model' is only for method 'draft_model'");
        }

        if (DraftLayers is { } layers && (Method != DraftModel || layers < 1))
        {
            throw new ArgumentException(Method != DraftModel
                ? "speculative config key 'draft_layers' is only for method 'draft_model'"
                : $"draft_layers must be at least 1 (got {layers})");
        }

        if (NumSpeculativeTokens is < 1 or > 16)
        {
            throw new ArgumentException($"num_speculative_tokens must be between 1 and 16 (got {NumSpeculativeTokens})");
        }

        if (PromptLookupMin < 1 || PromptLookupMax < PromptLookupMin || PromptLookupMax > 64)
        {
            throw new ArgumentException(
                $"prompt_lookup_min ({PromptLookupMin}) must be at least 1 and at most prompt_lookup_max ({PromptLookupMax}), which is at most 64");
        }
    }

    /// <summary>The proposer this configuration asks for when it needs no model (a draft model's proposer is built by the host).</summary>
    public IProposer CreateProposer() => Method == NGram
        ? new NGramProposer(PromptLookupMin, PromptLookupMax)
        : throw new InvalidOperationException($"speculative method '{Method}' needs its proposer from the host (the draft model's backend)");

    /// <summary>
    /// Reads a <c>--speculative-config</c> JSON object. Unknown keys, methods and policies are refused by name, as is a
    /// value of the wrong type: a typo must not silently run without speculation.
    /// </summary>
    public static SpeculativeConfig Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"speculative config is not valid JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("speculative config must be a JSON object");
            }

            var config = new SpeculativeConfig();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                config = property.Name switch
                {
                    "method" => config with { Method = String(property) },
                    "model" => config with { Model = String(property) },
                    "num_speculative_tokens" => config with { NumSpeculativeTokens = Int(property) },
                    "prompt_lookup_max" => config with { PromptLookupMax = Int(property) },
                    "prompt_lookup_min" => config with { PromptLookupMin = Int(property) },
                    "policy" => config with { Mode = ModeOf(String(property)) },
                    "draft_layers" => config with { DraftLayers = Int(property) },
                    _ => throw new ArgumentException($"speculative config key '{property.Name}' is not supported (supported: {string.Join(", ", Keys)})"),
                };
            }

            config.Validate();
            return config;
        }
    }

    private static string String(JsonProperty p) => p.Value.ValueKind == JsonValueKind.String
        ? p.Value.GetString()!
        : throw new ArgumentException($"speculative config '{p.Name}' must be a string");

    private static int Int(JsonProperty p) => p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var v)
        ? v
        : throw new ArgumentException($"speculative config '{p.Name}' must be an integer");

    private static SpeculationMode ModeOf(string policy) => policy switch
    {
        "adaptive" => SpeculationMode.Adaptive,
        "always" => SpeculationMode.Always,
        _ => throw new ArgumentException($"speculative policy '{policy}' is not supported (supported: adaptive, always)"),
    };
}
