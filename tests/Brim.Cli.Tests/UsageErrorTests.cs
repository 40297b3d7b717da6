using System.Net;
using System.Net.Sockets;
using Brim.Cli.Tests.Newcomer;

namespace Brim.Cli.Tests;

/// <summary>
/// Mistakes a user makes on the command line end in one `brim:` line and exit code 2 (usage) or 1 (the machine said
/// no), before the model loads, with option names rather than .NET types in the message.
/// </summary>
[Collection(ConsoleCollection.Name)]
public class UsageErrorTests
{
    [Theory]
    [InlineData("--temperature", "3", "--temperature must be between 0 and 2, got 3")]
    [InlineData("--max-tokens", "0", "--max-tokens must be at least 1, got 0")]
    [InlineData("--top-p", "0", "--top-p must be greater than 0 and at most 1, got 0")]
    public async Task Generate_SamplingValueOutOfRange_ExitsTwoNamingTheOption(string option, string value, string message)
    {
        var (code, output, error) = await CommandLine.RunAsync("generate", "hi", option, value, "--model", "/nonexistent/never-loaded");

        Assert.Equal(2, code);
        Assert.Equal($"brim: {message}", error.Trim());
        Assert.Equal("", output);
    }

    [Fact]
    public async Task Serve_HostNameNotAnAddress_ExitsTwoBeforeLoading()
    {
        var (code, _, error) = await CommandLine.RunAsync("serve", "--host", "myhost", "--model", "/nonexistent/never-loaded");

        Assert.Equal(2, code);
        Assert.StartsWith("brim: --host must be an IP address", error, StringComparison.Ordinal);
        Assert.DoesNotContain("never-loaded", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PortInUse_ExitsOneWithOneLineBeforeLoading()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var (code, _, error) = await CommandLine.RunAsync("serve", "--port", port, "--model", "/nonexistent/never-loaded");

        Assert.Equal(1, code);
        Assert.Equal($"brim: 127.0.0.1:{port} is already in use; stop what uses it or pick another with --port", error.Trim());
    }

    [Fact]
    public async Task BenchRightsize_SmallFirstOnTheCpu_ExitsTwoNamingTheOption()
    {
        var (code, output, error) = await CommandLine.RunAsync("bench", "rightsize", "--device", "cpu", "--small-first", "--large", "/nonexistent/never-loaded");

        Assert.Equal(2, code);
        Assert.Equal("brim: --small-first orders the two models' work on a shared GPU; with --device cpu each engine has its own cores", error.Trim());
        Assert.Equal("", output);
    }

    [Fact]
    public async Task Generate_UnknownDevice_ListsTheLowerCaseChoices()
    {
        var (code, _, error) = await CommandLine.RunAsync("generate", "hi", "--device", "gpu");

        Assert.Equal(2, code);
        Assert.Contains("brim: --device must be one of auto, cpu, cuda; got 'gpu'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("CPU")]
    public async Task Generate_DeviceInAnyCase_Runs(string device)
    {
        var (code, output, error) = await CommandLine.RunAsync("generate", "Once", "-t", "0", "-n", "4", "--device", device, "--threads", "1");

        Assert.True(code == 0, error);
        Assert.StartsWith("Once", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeHelp_Defaults_ShowLowerCaseNamesAndHumanDurations()
    {
        var (code, output, _) = await CommandLine.RunAsync("serve", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--device <auto|cpu|cuda>", output, StringComparison.Ordinal);
        Assert.Contains("[default: 24h]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("1.00:00:00", output, StringComparison.Ordinal);
        Assert.DoesNotContain("[default: Auto]", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchServe_UrlNotOfThisMachine_ExitsTwoNamingTheOption()
    {
        var (code, _, error) = await CommandLine.RunAsync("bench", "serve", "--url", "http://example.com:8000/");

        Assert.Equal(2, code);
        Assert.StartsWith("brim: --url must be an http:// URL of this machine", error, StringComparison.Ordinal);
    }
}
