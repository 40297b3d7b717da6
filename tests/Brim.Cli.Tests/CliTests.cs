using Brim.Tests;

namespace Brim.Cli.Tests;

/// <summary>
/// The `brim` command line run in-process, as a user runs it from a fresh clone: real argument parsing, the bundled
/// model, the CPU backend. Console output is captured, so this class runs in the <see cref="ConsoleCollection"/>.
/// </summary>
[Collection(ConsoleCollection.Name)]
public class CliTests
{
    [Fact]
    public async Task Generate_Greedy_PrintsTheBundledModelsStory()
    {
        var (code, output, _) = await RunAsync("generate", "Once upon a time", "-t", "0", "-n", "40", "--threads", "1", "--num-kv-blocks", "64", "--device", "cpu");

        Assert.Equal(0, code);

        // The opening of llama2.c's published greedy story for stories260K.
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_MissingModel_ExitsWithAClearMessage()
    {
        var (code, _, error) = await RunAsync("generate", "hi", "--model", "/nonexistent/model-dir", "--device", "cpu");

        Assert.Equal(2, code);
        Assert.Contains("/nonexistent/model-dir", error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task BenchDecode_8BModelOnASmallCpuMachine_RefusesUpFrontInsteadOfRunningOutOfMemory()
    {
        Skip.If(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes > 32e9, "this machine could hold the 8B model's float32 weights");
        var config = Path.Combine(RepoPaths.Root, "bench", "configs", "llama-3.1-8b");

        var (code, _, error) = await RunAsync("bench", "decode", "--model", config, "--load-format", "dummy", "--device", "cpu", "--batch-sizes", "1");

        Assert.Equal(2, code);
        Assert.Contains("need 32.1 GB", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_UnknownOption_FailsWithoutRunning()
    {
        var (code, _, error) = await RunAsync("bench", "--no-such-option");

        Assert.NotEqual(0, code);
        Assert.Contains("--no-such-option", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchMixed_FixedStepBudget_UnifiedRunUsesTheCapAndPrintsIt()
    {
        var (code, output, error) = await RunAsync(
            "bench", "mixed", "--duration", "0.4", "--step-budget-ms", "1.5", "--max-num-seqs", "8", "--threads", "1", "--num-kv-blocks", "256", "--device", "cpu");

        Assert.True(code == 0, error);
        Assert.Contains("--step-budget-ms 1.5 → 1.50 ms per step", output, StringComparison.Ordinal);

        // The budget column: the mixed runs carry the cap, the single-class runs do not.
        // The run table is the first table (the cost table below it names the runs again).
        var rows = output.Split('\n').SkipWhile(l => !l.StartsWith("| run |", StringComparison.Ordinal)).TakeWhile(l => l.StartsWith("| ", StringComparison.Ordinal) || l.StartsWith("|-", StringComparison.Ordinal))
            .Where(l => l.StartsWith("| ", StringComparison.Ordinal)).ToDictionary(l => l.Split('|')[1].Trim());
        Assert.Contains("step budget (ms)", rows["run"], StringComparison.Ordinal);
        Assert.EndsWith("| 1.50 |", rows["unified"].TrimEnd(), StringComparison.Ordinal);
        Assert.EndsWith("| 1.50 |", rows["online overload + offline"].TrimEnd(), StringComparison.Ordinal);
        Assert.EndsWith("| off |", rows["offline-only"].TrimEnd(), StringComparison.Ordinal);
        Assert.EndsWith("| off |", rows["online-only"].TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("online p99 TTFT unified", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchMixed_BurstyTrafficAndTpotTarget_ReportsTheTargetAndThePhases()
    {
        var (code, output, error) = await RunAsync(
            "bench", "mixed", "--duration", "0.4", "--traffic", "bursty", "--online-tpot-slo-ms", "5", "--max-num-seqs", "8", "--threads", "1",
            "--num-kv-blocks", "256", "--device", "cpu");

        Assert.True(code == 0, error);
        Assert.Contains("online traffic bursty", output, StringComparison.Ordinal);
        Assert.Contains("online TPOT budget in the mixed runs: --online-tpot-slo-ms 5 → 5 ms per step", output, StringComparison.Ordinal);
        Assert.Contains("unified run by phase of the bursty traffic", output, StringComparison.Ordinal);
        Assert.Contains("| burst |", output, StringComparison.Ordinal); // a trace starts with a burst
        Assert.Contains("online p99 TPOT", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Poisson traffic is one "steady" phase, so the phase table's online TTFT is the unified run's: offline requests'
    /// first tokens (which wait by design) must not count in it.
    /// </summary>
    [Fact]
    public async Task BenchMixed_PoissonTraffic_PhaseTtftIsTheUnifiedRunsOnlineTtft()
    {
        var (code, output, error) = await RunAsync(
            "bench", "mixed", "--duration", "1", "--max-num-seqs", "8", "--threads", "1", "--num-kv-blocks", "256", "--device", "cpu");

        Assert.True(code == 0, error);
        static string Cell(string output, string row, int column) =>
            output.Split('\n').First(line => line.StartsWith($"| {row} |", StringComparison.Ordinal)).Split('|')[column].Trim();
        var unified = Cell(output, "unified", 5);
        Assert.NotEqual("n/a / n/a", unified);
        Assert.Equal(unified, Cell(output, "steady", 3));
    }

    [Fact]
    public async Task BenchMixed_SweepChartAndCost_PrintsTheFrontierTheCostTableAndWritesTheSvg()
    {
        var chart = Path.Combine(Path.GetTempPath(), $"brim-mixed-{Guid.NewGuid():N}.svg");
        try
        {
            var (code, output, error) = await RunAsync(
                "bench", "mixed", "--duration", "0.4", "--traffic", "diurnal", "--peak-share", "0.5", "--tpot-slo", "auto,1.5x", "--window-sweep-ms", "0",
                "--chart", chart, "--skip-overload", "--gpu-hourly-cost", "2", "--max-num-seqs", "8", "--threads", "1", "--num-kv-blocks", "256", "--device", "cpu");

            Assert.True(code == 0, error);
            Assert.Contains("≈ 50 % of capacity", output, StringComparison.Ordinal);
            Assert.DoesNotContain("| online overload + offline |", output, StringComparison.Ordinal);

            // The frontier: the main unified run (window 5, auto), then 1.5x, then window 0; "auto" is not run twice.
            var frontier = output.Split('\n').SkipWhile(l => !l.StartsWith("| window (ms)", StringComparison.Ordinal)).Skip(2).TakeWhile(l => l.StartsWith('|')).ToList();
            Assert.Equal(["| 5 | auto |", "| 5 | 1.5x |", "| 0 | auto |"], frontier.Select(l => string.Join('|', l.Split('|')[..3]) + "|"));
            Assert.Contains("cost per 1M output tokens at $2.00 per device-hour (--gpu-hourly-cost)", output, StringComparison.Ordinal);
            Assert.Contains("| unified, --online-tpot-slo-ms 1.5x |", output, StringComparison.Ordinal);

            var svg = File.ReadAllText(chart);
            Assert.StartsWith("<svg xmlns=", svg, StringComparison.Ordinal);
            Assert.Contains("Online and offline throughput over a diurnal run", svg, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(chart);
        }
    }

    [Theory]
    [InlineData("--traffic", "weekly", "--traffic")]
    [InlineData("--online-tpot-slo-ms", "0", "--online-tpot-slo-ms must be auto, step, milliseconds")]
    [InlineData("--tpot-slo", "1.1x,fast", "--tpot-slo must be auto, step, milliseconds")]
    [InlineData("--window-sweep-ms", "-1", "--window-sweep-ms takes milliseconds")]
    [InlineData("--peak-share", "0", "--peak-share must be a share")]
    public async Task BenchMixed_BadTrafficOption_FailsWithoutRunning(string option, string value, string message)
    {
        var (code, _, error) = await RunAsync("bench", "mixed", option, value);

        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchMixed_BadStepBudget_FailsWithoutRunning()
    {
        var (code, _, error) = await RunAsync("bench", "mixed", "--step-budget-ms", "-3");

        Assert.NotEqual(0, code);
        Assert.Contains("--step-budget-ms must be auto, off, or milliseconds", error, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => CommandLine.RunAsync(args);
}
