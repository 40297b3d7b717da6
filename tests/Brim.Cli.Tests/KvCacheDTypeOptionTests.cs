namespace Brim.Cli.Tests;

/// <summary>`--kv-cache-dtype` through the real command line: bad names are usage errors, a format the backend lacks is refused by name.</summary>
[Collection(ConsoleCollection.Name)]
public class KvCacheDTypeOptionTests
{
    [Fact]
    public async Task Generate_UnknownKvCacheDType_UsageErrorNamingTheChoices()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "Once", "-n", "2", "--device", "cpu", "--kv-cache-dtype", "fp4");

        Assert.Equal(2, code);
        Assert.Contains("--kv-cache-dtype must be one of auto, fp8, int8; got 'fp4'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_Fp8OnTheCpu_RefusedNamingTheOptionWithoutAStackTrace()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "Once", "-n", "2", "--device", "cpu", "--kv-cache-dtype", "fp8");

        Assert.Equal(1, code);
        Assert.Contains("--kv-cache-dtype fp8 needs the CUDA backend", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }
}
