namespace Brim.Cli.Tests;

/// <summary>
/// `--speculative-config` through the real command line: prompt lookup and a draft model (the bundled model as its own
/// draft, whole or its first two layers) print the story plain decoding prints. Bad values are in SwapAndBatchWindowOptionsTests' exit-2 theory.
/// </summary>
[Collection(ConsoleCollection.Name)]
public class SpeculativeConfigOptionTests
{
    [Theory]
    [InlineData("""{"method":"ngram","num_speculative_tokens":4,"prompt_lookup_max":4,"prompt_lookup_min":1,"policy":"always"}""")]
    [InlineData("""{"method":"draft_model","model":"models/stories260K","num_speculative_tokens":3,"policy":"always"}""")]
    [InlineData("""{"method":"draft_model","model":"models/stories260K","num_speculative_tokens":3,"policy":"always","draft_layers":2}""")]
    public async Task Generate_Speculative_PrintsTheSameStory(string config)
    {
        var (code, output, error) = await CommandLine.RunAsync(
            "generate", "Once upon a time", "-t", "0", "-n", "40", "--threads", "1", "--num-kv-blocks", "64", "--device", "cpu",
            "--speculative-config", config.Replace("models/stories260K", RepoModel(), StringComparison.Ordinal));

        Assert.True(code == 0, error);
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_DraftModelWithoutModel_ExitsWithCode2()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "Once", "--device", "cpu", "--speculative-config", """{"method":"draft_model"}""");
        Assert.Equal(2, code);
        Assert.Contains("speculative method 'draft_model' needs 'model'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchSpec_DraftModel_PrintsTheDraftArmBesideTheNGramOne()
    {
        var (code, output, error) = await CommandLine.RunAsync(
            "bench", "spec", "--device", "cpu", "--threads", "1", "--batch-sizes", "2", "--repeats", "1", "--output-len", "24", "--draft-model", RepoModel());

        Assert.True(code == 0, error);
        Assert.Contains("| 2 | off |", output, StringComparison.Ordinal);
        Assert.Contains("| 2 | adaptive |", output, StringComparison.Ordinal);
        // The model as its own greedy draft: every draft token is accepted.
        Assert.Contains("| 2 | draft always |", output, StringComparison.Ordinal);
        Assert.Contains("| 100 % |", output, StringComparison.Ordinal);
        Assert.Contains("| 2 | draft adaptive |", output, StringComparison.Ordinal);
    }

    private static string RepoModel() => Brim.Tests.RepoPaths.BundledModel.Replace("\\", "/", StringComparison.Ordinal);
}
