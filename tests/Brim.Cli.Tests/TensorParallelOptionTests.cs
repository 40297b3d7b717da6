namespace Brim.Cli.Tests;

/// <summary>
/// `--tensor-parallel-size` through the real command line: without GPUs (CI) it is refused naming what is missing, the CPU runs the
/// simulated ranks the backend tests prove (same text as one rank), a shape that does not split is refused by field.
/// </summary>
[Collection(ConsoleCollection.Name)]
public class TensorParallelOptionTests
{
    [Fact]
    public async Task Generate_TwoRanksWithoutAGpu_RefusedNamingWhatIsMissing()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "Once", "-n", "2", "--tensor-parallel-size", "2");

        Assert.Equal(1, code);
        Assert.Contains("--tensor-parallel-size 2: tensor parallelism on GPUs cannot run here: ", error, StringComparison.Ordinal); // then the driver's or the device's absence, as this host has it
        Assert.Contains("--device cpu runs the sharding as 2 simulated ranks", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_TwoSimulatedRanksOnTheCpu_WritesTheTextOfOneRank()
    {
        string[] args = ["generate", "Once upon a time", "-t", "0", "-n", "40", "--threads", "1", "--num-kv-blocks", "64", "--device", "cpu"];

        var (wholeCode, whole, _) = await CommandLine.RunAsync(args);
        var (shardedCode, sharded, error) = await CommandLine.RunAsync([.. args, "-tp", "2"]);

        Assert.Equal((0, 0), (wholeCode, shardedCode));
        Assert.StartsWith("Once upon a time, there was", sharded, StringComparison.Ordinal);
        Assert.Equal(whole, sharded);
        Assert.Equal(string.Empty, error);
    }

    [Fact]
    public async Task Generate_RanksTheMlpDoesNotDivideBy_RefusedNamingTheField()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "Once", "-n", "2", "--device", "cpu", "--tensor-parallel-size", "8");

        Assert.Equal(2, code);
        Assert.Contains("cannot be split over tensor parallel size 8: intermediate_size (172) is not divisible by it", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_ZeroRanks_UsageError()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "Once", "-n", "2", "--device", "cpu", "--tensor-parallel-size", "0");

        Assert.Equal(2, code);
        Assert.Contains("--tensor-parallel-size must be a whole number of at least 1; got '0'", error, StringComparison.Ordinal);
    }
}
