namespace Brim.Server.Routing;

/// <summary>
/// The router behind the alias clients send as <c>model</c> (<c>"auto"</c> by default): picks, per request, the
/// served model a rule names, or the cascade, or the default (<see cref="RouterConfig"/>), and counts what it did.
/// </summary>
internal sealed class ModelRouter(RouterConfig config)
{
    public RouterConfig Config { get; } = config;

    public string Alias => Config.Alias;

    public RouterMetrics Metrics { get; } = new();

    /// <summary>
    /// Checks that every model the configuration names is served; called once when the server is built, so a typo
    /// stops the server at startup instead of failing requests.
    /// </summary>
    public void Bind(IReadOnlyList<string> servedModels)
    {
        var named = Config.Rules.Select(r => (Where: $"rule '{r.Name}'", r.Model)).Where(r => r.Model != RouterConfigReader.CascadeTarget)
            .Concat(Config.Default is { } d ? [("'default'", d)] : [])
            .Concat(Config.Cascade is { } c ? [("'cascade.small'", c.Small), ("'cascade.large'", c.Large)] : []);
        foreach (var (where, model) in named)
        {
            if (!servedModels.Contains(model, StringComparer.Ordinal))
            {
                throw new RouterConfigException($"the router's {where} names the model '{model}', which is not served (served: {string.Join(", ", servedModels)})");
            }
        }
    }

    /// <summary>The first rule whose conditions all hold, else the cascade when there is one, else the default model.</summary>
    public RouteDecision Decide(RouteFeatures request)
    {
        foreach (var rule in Config.Rules)
        {
            if (Matches(rule, request))
            {
                return new RouteDecision(rule.Name, rule.Model == RouterConfigReader.CascadeTarget ? null : rule.Model);
            }
        }

        return Config.Cascade is not null
            ? new RouteDecision(RouteDecision.CascadeRoute, null)
            : new RouteDecision(RouteDecision.DefaultRoute, Config.Default);
    }

    /// <summary>Every condition the rule gives holds; a condition on a field the request left out does not hold.</summary>
    private static bool Matches(RoutingRule rule, RouteFeatures request) =>
        (rule.MinPromptTokens is not { } minPrompt || request.PromptTokens >= minPrompt)
        && (rule.MaxPromptTokens is not { } maxPrompt || request.PromptTokens <= maxPrompt)
        && (rule.MinMaxTokens is not { } minOutput || request.MaxTokens >= minOutput)
        && (rule.ServiceTier is not { } tiers || (request.ServiceTier is { } tier && tiers.Contains(tier, StringComparer.Ordinal)))
        && (rule.ReasoningEffort is not { } efforts || (request.ReasoningEffort is { } effort && efforts.Contains(effort, StringComparer.Ordinal)))
        && (rule.Metadata is not { } wanted || wanted.All(kv => request.Metadata.TryGetValue(kv.Key, out var value) && value == kv.Value));
}
