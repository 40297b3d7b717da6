using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Brim.Cli.Tests.Newcomer;

/// <summary>
/// The built `brim` as a real process, started through bash so a README line's quoting means what it means in a shell.
/// `dotnet run --project src/Brim.Cli -c Release --` becomes `dotnet brim.dll` (the CLI this test project was built
/// with): the same program, without a second build racing the test run's own.
/// </summary>
internal sealed partial class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private CliProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static string BrimDll => typeof(Program).Assembly.Location;

    public string Output => Read(_output);

    public string Error => Read(_error);

    public bool HasExited => _process.HasExited;

    /// <summary>Starts `brim ARGS` (ARGS shell-quoted, as in the README) in the repository root, with <paramref name="environment"/> added.</summary>
    public static CliProcess Start(string brimArguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("bash", ["-c", $"exec dotnet \"{BrimDll}\" {brimArguments}"])
        {
            WorkingDirectory = Brim.Tests.RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // The environment a newcomer has: none of Brim's own variables, no tracing, no test-run settings leaking in.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("BRIM_", StringComparison.Ordinal) || k.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return new CliProcess(Process.Start(info) ?? throw new InvalidOperationException("bash did not start"));
    }

    /// <summary>Waits for the exit; kills the process and fails if it runs past <paramref name="timeout"/>.</summary>
    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"still running after {timeout.TotalSeconds:F0} s; stderr:\n{Error}");
        }

        _process.WaitForExit(); // the last lines of the redirected streams
        return _process.ExitCode;
    }

    /// <summary>Polls GET /ready until the server answers 200; fails if the process exits first or 90 s pass.</summary>
    public async Task WaitReadyAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(HasExited, $"serve exited before it was ready:\n{Error}");
            try
            {
                using var ready = await http.GetAsync(new Uri("ready", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        Assert.Fail($"serve was not ready within 90 s:\n{Error}");
    }

    /// <summary>SIGTERM, as a service manager or Ctrl+C stops `brim serve`.</summary>
    public void Terminate()
    {
        if (!_process.HasExited && Kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is not null)
        {
            lock (sb)
            {
                sb.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString();
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
