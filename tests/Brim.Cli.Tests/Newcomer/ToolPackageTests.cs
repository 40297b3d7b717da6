using System.Diagnostics;
using Brim.Tests;

namespace Brim.Cli.Tests.Newcomer;

/// <summary>
/// The dotnet-tool route of the README: `dotnet pack` the CLI (already built by this test run: --no-build), install
/// the package into a temporary tool path from that folder, and run `brim --help` and a short generation with it.
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("brim-tool-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task PackAndInstall_AsDotnetTool_BrimRunsFromTheToolPath()
    {
        var packages = Path.Combine(_temp.FullName, "packages");
        var tools = Path.Combine(_temp.FullName, "tools");

        // The configuration this test project was built in (bin/Release/net10.0 or bin/Debug/net10.0).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        await RunAsync("dotnet", "pack", "src/Brim.Cli", "-c", configuration, "--no-build", "-nologo", "-o", packages);
        await RunAsync("dotnet", "tool", "install", "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources", "brim");

        var brim = Path.Combine(tools, "brim");
        var help = await RunAsync(brim, "--help");
        Assert.Contains("brim [command] [options]", help, StringComparison.Ordinal);

        // The bundled model travels in the package.
        var story = await RunAsync(brim, "generate", "Once upon a time", "-n", "8", "-t", "0", "--device", "cpu", "--threads", "1");
        Assert.StartsWith("Once upon a time, there was a little", story, StringComparison.Ordinal);
    }

    private static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await output}\n{await error}");
        return await output;
    }
}
