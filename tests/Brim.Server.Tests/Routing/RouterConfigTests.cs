using Brim.Server.Hosting;
using Brim.Server.Routing;

namespace Brim.Server.Tests.Routing;

/// <summary>The router's configuration file: strict about keys and values, checked against the served models at startup.</summary>
public class RouterConfigTests
{
    [Theory]
    [InlineData("""{"default": "small", "rule": []}""", "unknown key 'rule'")]
    [InlineData("""{"default": "small", "rules": [{"name": "a", "model": "large", "when": {"min_prompt_token": 5}}]}""", "unknown key 'rules[0].when.min_prompt_token'")]
    [InlineData("""{"cascade": {"small": "small", "large": "large", "threshold": -1, "margin": 2}}""", "unknown key 'cascade.margin'")]
    [InlineData("""{"cascade": {"small": "small", "large": "large", "threshold": 0.5}}""", "'cascade.threshold' must be")]
    [InlineData("""{"cascade": {"small": "small", "large": "large", "threshold": -1, "confidence": "median"}}""", "'cascade.confidence' must be")]
    [InlineData("""{"rules": []}""", "give 'default'")]
    [InlineData("""{"default": "small", "rules": [{"name": "a", "model": "cascade", "when": {"service_tier": "flex"}}]}""", "there is no 'cascade'")]
    [InlineData("""{"default": "small", "rules": [{"name": "a", "model": "large", "when": {}}]}""", "has no conditions")]
    [InlineData("""{"default": "small", "rules": [{"name": "a", "model": "large", "when": {"metadata": {"tier": 3}}}]}""", "'rules[0].when.metadata.tier' must be a string")]
    [InlineData("""{"default": "small", "rules": [{"name": "a", "model": "large", "when": {"min_max_tokens": -2}}]}""", "'rules[0].when.min_max_tokens' must be")]
    public void Parse_BadConfig_RefusedNamingTheKey(string json, string expected)
    {
        var error = Assert.Throws<RouterConfigException>(() => RouterConfigReader.Parse(json));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FullConfig_ReadsEveryField()
    {
        var config = RouterConfigReader.Parse(RoutedFixture.ConfigJson);
        Assert.Equal("auto", config.Alias);
        Assert.Equal(["long-prompts", "long-answers", "flex", "gold", "think"], config.Rules.Select(r => r.Name));
        Assert.Equal(60, config.Rules[0].MinPromptTokens);
        Assert.Equal("gold", config.Rules[3].Metadata!["tier"]);
        Assert.Equal(["medium", "high"], config.Rules[4].ReasoningEffort);
        Assert.Equal(new CascadeConfig { Small = "small", Large = "large", Measure = ConfidenceMeasure.MeanLogprob, Threshold = -1.0 }, config.Cascade);
    }

    [Fact]
    public void Create_RouterNamesAModelNotServed_RefusedAtStartup()
    {
        using var host = ModelHost.Load(TwoModelFixture.SmallOptions);
        var router = RouterConfigReader.Parse("""{"default": "small", "rules": [{"name": "big", "model": "huge", "when": {"min_prompt_tokens": 100}}]}""");
        var error = Assert.Throws<RouterConfigException>(() => BrimServer.Create([host], TwoModelFixture.ServerOptions(router)));
        Assert.Contains("'huge'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_TwoModelsOfOneName_RefusedAtStartup()
    {
        using var first = ModelHost.Load(TwoModelFixture.SmallOptions);
        using var second = ModelHost.Load(TwoModelFixture.SmallOptions);
        var error = Assert.Throws<InvalidOperationException>(() => BrimServer.Create([first, second], TwoModelFixture.ServerOptions()));
        Assert.Contains("two models are served as 'small'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_AliasIsAModelsName_RefusedAtStartup()
    {
        using var host = ModelHost.Load(TwoModelFixture.SmallOptions);
        var router = RouterConfigReader.Parse("""{"alias": "small", "default": "small"}""");
        var error = Assert.Throws<RouterConfigException>(() => BrimServer.Create([host], TwoModelFixture.ServerOptions(router)));
        Assert.Contains("alias 'small' is also a served model's name", error.Message, StringComparison.Ordinal);
    }
}
