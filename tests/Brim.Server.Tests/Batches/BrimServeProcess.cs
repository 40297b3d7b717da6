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

    /// <summary>
    /// Starts the server on a port that was free a moment ago. Between probing the port and the process binding it,
    /// another test's server may take it: the process then exits (address in use) while the other server answers on the
    /// port. So the process is ready once it has said it serves (printed after it bound the port) and answers an
    /// authenticated request with its key; a start whose process exits first is retried on a new port (a few times,
    /// then the last log is reported).
    /// </summary>
    public static async Task<BrimServeProcess> StartAsync(string dataDirectory, string apiKey, params string[] extraArguments)
    {
        const int attempts = 3;
        for (var attempt = 1; ; attempt++)
        {
            var server = Launch(dataDirectory, apiKey, extraArguments);
            try
            {
                await server.WaitUntilReadyAsync(apiKey, TimeSpan.FromSeconds(30));
                return server;
            }
            catch (InvalidOperationException) when (attempt < attempts && server._process.HasExited)
            {
                server.Dispose();
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    private static BrimServeProcess Launch(string dataDirectory, string apiKey, string[] extraArguments)
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

    /// <summary>Until this process has said it serves and answers an authenticated request with its key.</summary>
    private async Task WaitUntilReadyAsync(string apiKey, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"brim serve exited with {_process.ExitCode}:\n{Log}");
            }

            try
            {
                if (Log.Contains("brim: serving", StringComparison.Ordinal) && (await http.GetAsync("v1/models")).IsSuccessStatusCode)
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
