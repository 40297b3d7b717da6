using Brim.Engine.Speculative;

namespace Brim.Engine.Tests.Speculative;

public class SpeculativeConfigTests
{
    [Fact]
    public void Parse_VllmNGramConfig_ReadsEveryKey()
    {
        var config = SpeculativeConfig.Parse(
            """{"method":"ngram","num_speculative_tokens":5,"prompt_lookup_max":6,"prompt_lookup_min":3,"policy":"always"}""");
        Assert.Equal(new SpeculativeConfig { NumSpeculativeTokens = 5, PromptLookupMax = 6, PromptLookupMin = 3, Mode = SpeculationMode.Always }, config);
    }

    [Fact]
    public void Parse_DraftModelWithDraftLayers_ReadsThem()
    {
        var config = SpeculativeConfig.Parse("""{"method":"draft_model","model":"m","draft_layers":2}""");
        Assert.Equal(new SpeculativeConfig { Method = SpeculativeConfig.DraftModel, Model = "m", DraftLayers = 2 }, config);
    }

    [Theory]
    [InlineData("""{"method":"ngram","num_lookahead":3}""", "num_lookahead")]
    [InlineData("""{"method":"ngram","draft_layers":2}""", "'draft_layers' is only for method 'draft_model'")]
    [InlineData("""{"method":"draft_model","model":"m","draft_layers":0}""", "draft_layers must be at least 1")]
    [InlineData("""{"method":"eagle"}""", "eagle")]
    [InlineData("""{"method":"ngram","policy":"sometimes"}""", "sometimes")]
    [InlineData("""{"num_speculative_tokens":"4"}""", "num_speculative_tokens")]
    [InlineData("""{"num_speculative_tokens":0}""", "num_speculative_tokens")]
    [InlineData("""{"prompt_lookup_min":5,"prompt_lookup_max":2}""", "prompt_lookup_min")]
    [InlineData("""[1]""", "object")]
    [InlineData("""{"method":"draft_model"}""", "needs 'model'")]
    [InlineData("""{"method":"ngram","model":"x"}""", "only for method 'draft_model'")]
    [InlineData("""{"method":""", "JSON")]
    public void Parse_UnsupportedInput_RefusedByName(string json, string named)
    {
        var ex = Assert.Throws<ArgumentException>(() => SpeculativeConfig.Parse(json));
        Assert.Contains(named, ex.Message);
    }
}
