namespace Brim.Server.Routing;

/// <summary>
/// How the router chooses a model for a request that names its alias: the first rule whose conditions all hold names
/// the model (or the cascade); a request no rule matches goes to the cascade when there is one, else to
/// <see cref="Default"/>. Read from a JSON file by <see cref="RouterConfigReader"/>; docs/routing.md describes it.
/// </summary>
public sealed record RouterConfig
{
    /// <summary>What clients send as <c>model</c> to be routed.</summary>
    public string Alias { get; init; } = "auto";

    /// <summary>The model a request no rule matches goes to when there is no cascade.</summary>
    public string? Default { get; init; }

    public IReadOnlyList<RoutingRule> Rules { get; init; } = [];

    public CascadeConfig? Cascade { get; init; }

    /// <summary>One line for the startup log: the rules in order, then where the rest goes.</summary>
    public string Describe()
    {
        var rest = Cascade is { } c
            ? $"the rest {c.Small} first, escalated to {c.Large} when its {(c.Measure == ConfidenceMeasure.MeanLogprob ? "mean" : "minimum")} token logprob is below {c.Threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : $"the rest to {Default}";
        return Rules.Count == 0 ? rest : $"{string.Join(", ", Rules.Select(r => $"rule '{r.Name}' to {r.Model}"))}; {rest}";
    }
}

/// <summary>A named rule: when every condition given holds, the request goes to <see cref="Model"/> ("cascade": the cascade).</summary>
public sealed record RoutingRule
{
    /// <summary>The <c>route</c> label of brim:router_requests_total.</summary>
    public required string Name { get; init; }

    /// <summary>A served model's name, or <see cref="RouterConfigReader.CascadeTarget"/>.</summary>
    public required string Model { get; init; }

    /// <summary>The longest prompt (in the small model's tokens, the longest of a request's prompts) is at least this.</summary>
    public int? MinPromptTokens { get; init; }

    /// <summary>The longest prompt is at most this.</summary>
    public int? MaxPromptTokens { get; init; }

    /// <summary>The request asks for at least this many output tokens (max_tokens or max_completion_tokens, when given).</summary>
    public int? MinMaxTokens { get; init; }

    /// <summary>The request's service_tier is one of these.</summary>
    public IReadOnlyList<string>? ServiceTier { get; init; }

    /// <summary>The request's reasoning_effort is one of these.</summary>
    public IReadOnlyList<string>? ReasoningEffort { get; init; }

    /// <summary>Every key of this map is in the request's metadata with this value.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>How a token's confidence is summarized over an answer.</summary>
public enum ConfidenceMeasure
{
    /// <summary>The mean log-probability of the answer's tokens.</summary>
    MeanLogprob,

    /// <summary>The lowest log-probability of any of its tokens.</summary>
    MinLogprob,
}

/// <summary>
/// Answer with <see cref="Small"/> first; when its own confidence in a finished answer is below <see cref="Threshold"/>,
/// answer again with <see cref="Large"/>.
/// </summary>
public sealed record CascadeConfig
{
    public required string Small { get; init; }

    public required string Large { get; init; }

    public ConfidenceMeasure Measure { get; init; } = ConfidenceMeasure.MeanLogprob;

    /// <summary>Log-probability (≤ 0): answers whose measure is below it escalate.</summary>
    public required double Threshold { get; init; }
}
