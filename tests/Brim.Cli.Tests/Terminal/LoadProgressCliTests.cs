using System.Diagnostics;
using Brim.Cli.Tests.Newcomer;

namespace Brim.Cli.Tests.Terminal;

/// <summary>
/// The real `brim generate`: with stderr redirected (a log file, CI, a pipe) loading prints no progress at all; on a
/// terminal (a pseudo-terminal from util-linux's `script`) the weights line is drawn in place and blanked before the story.
/// </summary>
public class LoadProgressCliTests
{
    private const string Generate = "generate Once -n 4 --device cpu --threads 1 --num-kv-blocks 64";

    [Fact]
    public async Task Generate_StderrRedirected_PrintsNoProgress()
    {
        using var brim = CliProcess.Start(Generate);

        var code = await brim.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.Equal(0, code);
        Assert.DoesNotContain("loading weights", brim.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("compiling CUDA kernels", brim.Error, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', brim.Error);
    }

    [SkippableFact]
    public async Task Generate_StderrATerminal_DrawsWeightsInPlaceThenBlanksTheLine()
    {
        Skip.IfNot(File.Exists("/usr/bin/script"), "no util-linux `script` to give the CLI a terminal");
        var info = new ProcessStartInfo("/usr/bin/script", ["-qec", $"exec dotnet \"{CliProcess.BrimDll}\" {Generate}", "/dev/null"])
        {
            WorkingDirectory = Brim.Tests.RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("BRIM_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        using var script = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var screen = await script.StandardOutput.ReadToEndAsync(timeout.Token);
        await script.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, script.ExitCode);
        const string loaded = "loading weights 1.0 of 1.0 MB (100%)";
        var full = screen.IndexOf('\r' + loaded, StringComparison.Ordinal);
        Assert.True(full >= 0, $"no finished weights line on the terminal:\n{screen}");
        var blank = screen.IndexOf('\r' + new string(' ', loaded.Length) + '\r', full, StringComparison.Ordinal);
        Assert.True(blank > full, $"the line was not blanked:\n{screen}");
        Assert.True(screen.IndexOf("Once", blank, StringComparison.Ordinal) > blank, $"the story did not come after the blanked line:\n{screen}");
    }
}
