using Brim.Server.Routing;

namespace Brim.Server.Tests.Routing;

/// <summary>
/// <see cref="TwoModelFixture"/> with a router at "auto": rules on prompt length, max_tokens, service_tier, metadata and
/// reasoning_effort, and a small-then-large cascade on the mean token logprob below <see cref="Threshold"/>.
/// </summary>
public sealed class RoutedFixture : TwoModelFixture
{
    public const double Threshold = -1.0;

    public const string ConfigJson = """
        {
          "alias": "auto",
          "rules": [
            {"name": "long-prompts", "model": "large", "when": {"min_prompt_tokens": 60}},
            {"name": "long-answers", "model": "large", "when": {"min_max_tokens": 300}},
            {"name": "flex", "model": "small", "when": {"service_tier": "flex"}},
            {"name": "gold", "model": "large", "when": {"metadata": {"tier": "gold"}}},
            {"name": "think", "model": "large", "when": {"reasoning_effort": ["medium", "high"]}}
          ],
          "cascade": {"small": "small", "large": "large", "confidence": "mean_logprob", "threshold": -1.0}
        }
        """;

    protected override RouterConfig Router => RouterConfigReader.Parse(ConfigJson);
}
