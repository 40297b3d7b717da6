namespace Brim.Cli.Tests;

/// <summary>`--no-enable-prefix-caching` and `brim bench prefix` through the real command line on the bundled model.</summary>
[Collection(ConsoleCollection.Name)]
public class PrefixCacheOptionsTests
{
    [Fact]
    public async Task BenchPrefix_SmallRun_CacheOnHitsAndComputesFewerPromptTokens()
    {
        var (code, output, error) = await CommandLine.RunAsync(
            CancellationToken.None, "bench", "prefix", "--requests", "8", "--prefix-len", "64", "--suffix-len", "8", "--output-len", "4",
            "--conversations", "4", "--turns", "2", "--threads", "1", "--num-kv-blocks", "256", "--device", "cpu");

        Assert.True(code == 0, error);
        var rows = output.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal)).ToDictionary(l => l.Split('|')[1].Trim(), l => l.Split('|'));
        var off = rows["shared system prompt, cache off"];
        var on = rows["shared system prompt, cache on"];
        Assert.Equal("off", off[7].Trim());
        Assert.EndsWith("%", on[7].Trim(), StringComparison.Ordinal);
        Assert.True(long.Parse(on[6].Trim()) < long.Parse(off[6].Trim()), "the cached run computes fewer prompt tokens");
        Assert.Contains("4 chats x 2 turns, cache on", output, StringComparison.Ordinal);
        Assert.Contains("cache on / off", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_NoEnablePrefixCaching_SameStory()
    {
        string[] args = ["generate", "Once upon a time", "-t", "0", "-n", "30", "--threads", "1", "--num-kv-blocks", "64", "--device", "cpu"];
        var (onCode, on, _) = await CommandLine.RunAsync(CancellationToken.None, args);
        var (offCode, off, error) = await CommandLine.RunAsync(CancellationToken.None, [.. args, "--no-enable-prefix-caching"]);

        Assert.Equal(0, onCode);
        Assert.True(offCode == 0, error);
        Assert.Equal(on, off);
    }
}
