using System.Globalization;
using System.Text.Json;

namespace Brim.Server.Routing;

/// <summary>
/// Reads a router configuration file (<c>--router-config router.json</c>). Strict: a key it does not know, a value of
/// the wrong type or out of range is an error naming the key by its path (<c>rules[1].when.prompt_tokens</c>), because
/// a misspelt condition silently never matching would route every request somewhere nobody meant.
/// </summary>
public static class RouterConfigReader
{
    /// <summary>The rule target that sends a request to the cascade instead of one model.</summary>
    public const string CascadeTarget = "cascade";

    private static readonly string[] TopKeys = ["alias", "default", "rules", "cascade"];
    private static readonly string[] RuleKeys = ["name", "model", "when"];
    private static readonly string[] WhenKeys = ["min_prompt_tokens", "max_prompt_tokens", "min_max_tokens", "service_tier", "reasoning_effort", "metadata"];
    private static readonly string[] CascadeKeys = ["small", "large", "confidence", "threshold"];

    public static RouterConfig ReadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RouterConfigException($"--router-config {path}: {e.Message}");
        }

        return Parse(text, path);
    }

    /// <summary>Parses the JSON text of a configuration; <paramref name="source"/> names it in errors.</summary>
    public static RouterConfig Parse(string json, string source = "router config")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new RouterConfigException($"{source}: not valid JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            Object(root, "the file", TopKeys, source);
            var rules = new List<RoutingRule>();
            if (Get(root, "rules") is { } list)
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    throw Wrong(source, "rules", "a list of rules");
                }

                foreach (var item in list.EnumerateArray())
                {
                    rules.Add(Rule(item, $"rules[{rules.Count}]", source));
                }
            }

            var config = new RouterConfig
            {
                Alias = Name(root, "alias", source) ?? "auto",
                Default = Name(root, "default", source),
                Rules = rules,
                Cascade = Get(root, "cascade") is { } cascade ? Cascade(cascade, source) : null,
            };
            if (config.Default is null && config.Cascade is null)
            {
                throw new RouterConfigException($"{source}: give 'default' (the model for requests no rule matches), 'cascade', or both");
            }

            var duplicate = rules.GroupBy(r => r.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw new RouterConfigException($"{source}: two rules are named '{duplicate.Key}'; each rule's name is its metrics label");
            }

            if (rules.FirstOrDefault(r => r.Model == CascadeTarget) is { } toCascade && config.Cascade is null)
            {
                throw new RouterConfigException($"{source}: rule '{toCascade.Name}' sends requests to the cascade, but there is no 'cascade'");
            }

            return config;
        }
    }

    private static RoutingRule Rule(JsonElement item, string path, string source)
    {
        Object(item, path, RuleKeys, source);
        var name = Name(item, "name", source, path) ?? throw new RouterConfigException($"{source}: '{path}.name' is required");
        if (name is "default" or "cascade")
        {
            throw new RouterConfigException($"{source}: '{path}.name' may not be '{name}': the router uses that label itself");
        }

        var model = Name(item, "model", source, path) ?? throw new RouterConfigException($"{source}: '{path}.model' is required (a served model's name, or \"cascade\")");
        var when = Get(item, "when") ?? throw new RouterConfigException($"{source}: '{path}.when' is required (the conditions; an always-true rule is 'default')");
        var at = $"{path}.when";
        Object(when, at, WhenKeys, source);
        if (!when.EnumerateObject().Any())
        {
            throw new RouterConfigException($"{source}: '{at}' has no conditions; use 'default' for where unmatched requests go");
        }

        return new RoutingRule
        {
            Name = name,
            Model = model,
            MinPromptTokens = Count(when, "min_prompt_tokens", at, source),
            MaxPromptTokens = Count(when, "max_prompt_tokens", at, source),
            MinMaxTokens = Count(when, "min_max_tokens", at, source),
            ServiceTier = Strings(when, "service_tier", at, source),
            ReasoningEffort = Strings(when, "reasoning_effort", at, source),
            Metadata = Metadata(when, at, source),
        };
    }

    private static CascadeConfig Cascade(JsonElement cascade, string source)
    {
        Object(cascade, "cascade", CascadeKeys, source);
        var measure = Get(cascade, "confidence") switch
        {
            null => ConfidenceMeasure.MeanLogprob,
            { ValueKind: JsonValueKind.String } m when m.GetString() == "mean_logprob" => ConfidenceMeasure.MeanLogprob,
            { ValueKind: JsonValueKind.String } m when m.GetString() == "min_logprob" => ConfidenceMeasure.MinLogprob,
            _ => throw Wrong(source, "cascade.confidence", "\"mean_logprob\" or \"min_logprob\""),
        };
        if (Get(cascade, "threshold") is not { ValueKind: JsonValueKind.Number } t || !t.TryGetDouble(out var threshold) || !(threshold <= 0))
        {
            throw Wrong(source, "cascade.threshold", "a log-probability, a number ≤ 0 (answers whose confidence is below it escalate)");
        }

        var small = Name(cascade, "small", source, "cascade") ?? throw new RouterConfigException($"{source}: 'cascade.small' is required");
        var large = Name(cascade, "large", source, "cascade") ?? throw new RouterConfigException($"{source}: 'cascade.large' is required");
        if (small == large)
        {
            throw new RouterConfigException($"{source}: 'cascade.small' and 'cascade.large' are both '{small}'");
        }

        return new CascadeConfig { Small = small, Large = large, Measure = measure, Threshold = threshold };
    }

    private static void Object(JsonElement element, string path, string[] known, string source)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Wrong(source, path, "an object");
        }

        foreach (var property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                var where = path == "the file" ? property.Name : $"{path}.{property.Name}";
                throw new RouterConfigException($"{source}: unknown key '{where}'; known here: {string.Join(", ", known)}");
            }
        }
    }

    private static JsonElement? Get(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? Name(JsonElement obj, string name, string source, string? path = null)
    {
        var at = path is null ? name : $"{path}.{name}";
        return Get(obj, name) switch
        {
            null => null,
            { ValueKind: JsonValueKind.String } s when s.GetString() is { Length: > 0 } text => text,
            _ => throw Wrong(source, at, "a non-empty string"),
        };
    }

    private static int? Count(JsonElement obj, string name, string path, string source) => Get(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } n when n.TryGetInt32(out var value) && value >= 0 => value,
        _ => throw Wrong(source, $"{path}.{name}", "a whole number ≥ 0"),
    };

    private static string[]? Strings(JsonElement obj, string name, string path, string source) => Get(obj, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } s => [s.GetString()!],
        { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 && a.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String) =>
            [.. a.EnumerateArray().Select(v => v.GetString()!)],
        _ => throw Wrong(source, $"{path}.{name}", "a string or a non-empty list of strings"),
    };

    private static Dictionary<string, string>? Metadata(JsonElement obj, string path, string source)
    {
        if (Get(obj, "metadata") is not { } metadata)
        {
            return null;
        }

        if (metadata.ValueKind != JsonValueKind.Object || !metadata.EnumerateObject().Any())
        {
            throw Wrong(source, $"{path}.metadata", "an object of key: string value pairs, at least one");
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in metadata.EnumerateObject())
        {
            map[property.Name] = property.Value.ValueKind == JsonValueKind.String
                ? property.Value.GetString()!
                : throw Wrong(source, $"{path}.metadata.{property.Name}", "a string (OpenAI's metadata values are strings)");
        }

        return map;
    }

    private static RouterConfigException Wrong(string source, string path, string expected) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{source}: '{path}' must be {expected}"));
}

/// <summary>A router configuration that cannot be used; the message names the key.</summary>
public sealed class RouterConfigException(string message) : InvalidOperationException(message);
