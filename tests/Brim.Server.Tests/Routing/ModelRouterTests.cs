using Brim.Server.Routing;

namespace Brim.Server.Tests.Routing;

/// <summary>The router's decision alone: rules in order, every condition of a rule, absent fields, the cascade and the default.</summary>
public class ModelRouterTests
{
    private static readonly ModelRouter Router = new(RouterConfigReader.Parse("""
        {
          "default": "small",
          "rules": [
            {"name": "window", "model": "large", "when": {"min_prompt_tokens": 100, "max_prompt_tokens": 200}},
            {"name": "output", "model": "large", "when": {"min_max_tokens": 500}},
            {"name": "tier", "model": "small", "when": {"service_tier": ["flex", "scale"]}},
            {"name": "both", "model": "large", "when": {"metadata": {"tier": "gold", "team": "a"}}},
            {"name": "effort", "model": "cascade", "when": {"reasoning_effort": "high"}}
          ],
          "cascade": {"small": "small", "large": "large", "threshold": -2, "confidence": "min_logprob"}
        }
        """));

    private static RouteFeatures Request(int prompt = 10, int? maxTokens = null, string? tier = null, string? effort = null, Dictionary<string, string>? metadata = null) =>
        new(prompt, maxTokens, tier, effort, metadata ?? []);

    [Theory]
    [InlineData(100, "window")]
    [InlineData(200, "window")]
    [InlineData(99, "cascade")]
    [InlineData(201, "cascade")]
    public void Decide_PromptWindow_BothBoundsInclusive(int prompt, string route) =>
        Assert.Equal(route, Router.Decide(Request(prompt)).Route);

    [Fact]
    public void Decide_EachCondition_ItsRule()
    {
        Assert.Equal(new RouteDecision("output", "large"), Router.Decide(Request(maxTokens: 500)));
        Assert.Equal(new RouteDecision("tier", "small"), Router.Decide(Request(tier: "scale")));
        Assert.Equal(new RouteDecision("both", "large"), Router.Decide(Request(metadata: new() { ["tier"] = "gold", ["team"] = "a", ["x"] = "y" })));
        Assert.Equal(new RouteDecision("effort", null), Router.Decide(Request(effort: "high")));
    }

    [Fact]
    public void Decide_ConditionOnAFieldLeftOutOrPartlyMet_DoesNotMatch()
    {
        Assert.Equal("cascade", Router.Decide(Request(maxTokens: null)).Route);
        Assert.Equal("cascade", Router.Decide(Request(maxTokens: 499)).Route);
        Assert.Equal("cascade", Router.Decide(Request(tier: "default")).Route);
        Assert.Equal("cascade", Router.Decide(Request(metadata: new() { ["tier"] = "gold" })).Route);
        Assert.True(Router.Decide(Request(effort: "low")).IsCascade);
    }

    [Fact]
    public void Decide_FirstMatchingRuleWins()
    {
        Assert.Equal("window", Router.Decide(Request(prompt: 150, maxTokens: 900, tier: "flex")).Route);
        Assert.Equal("output", Router.Decide(Request(maxTokens: 900, tier: "flex")).Route);
    }

    [Fact]
    public void Decide_NoCascade_UnmatchedGoToTheDefault()
    {
        var router = new ModelRouter(RouterConfigReader.Parse("""{"default": "large", "rules": [{"name": "r", "model": "small", "when": {"service_tier": "flex"}}]}"""));
        Assert.Equal(new RouteDecision("default", "large"), router.Decide(Request()));
    }
}
