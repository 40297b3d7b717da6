using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Brim.Tests;

namespace Brim.Server.Tests.Batches;

/// <summary>
/// A real `brim serve` process (the CLI the test build built: src/Brim.Cli/bin/&lt;config&gt;/net10.0/brim.dll) on a free
/// loopback port over a given data directory, which a test can kill with SIGKILL and start again.
/// </summary>
internal sealed class BrimServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private BrimServeProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>What the server wrote to stdout and stderr, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<BrimServeProcess> StartAsync(string dataDirectory, string apiKey, params string[] extraArguments)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])[BrimDll(), "serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--data-dir", dataDirectory, "--api-key", apiKey, "--device", "cpu", .. extraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var server = new BrimServeProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await server.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30));
        return server;
    }

    /// <summary>SIGKILL: no drain, no shutdown hooks, as a crash would end it.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"brim serve exited with {_process.ExitCode}:\n{Log}");
            }

            try
            {
                if ((await http.GetAsync("health")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException) when (DateTime.UtcNow < deadline)
            {
                // listening but slow to answer (a loaded machine while the process warms up): ask again until the deadline
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"brim serve did not become healthy in {timeout}:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The CLI built beside this test build, in the same configuration.</summary>
    private static string BrimDll()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); // …/bin/<config>/net10.0
        var configuration = testOutput.Parent!.Name;
        var dll = Path.Combine(RepoPaths.Root, "src", "Brim.Cli", "bin", configuration, testOutput.Name, "brim.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("build src/Brim.Cli first (the test project builds it)", dll);
    }
}
