using System.Globalization;

namespace Brim.Cli.Tests;

/// <summary>`brim serve --allowed-hosts` replaces the loopback default: only the listed Host names are answered.</summary>
[Collection(ConsoleCollection.Name)]
public class AllowedHostsOptionTests
{
    [Fact]
    public async Task Serve_AllowedHosts_OnlyThoseNamesAnswered()
    {
        var port = SwapAndBatchWindowOptionsTests.FreePort();
        var data = Directory.CreateTempSubdirectory("brim-cli-hosts-");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var serve = CommandLine.RunAsync(
            stop.Token, "serve", "--port", port.ToString(CultureInfo.InvariantCulture), "--device", "cpu", "--threads", "1",
            "--num-kv-blocks", "64", "--data-dir", data.FullName, "--drain-timeout", "1", "--allowed-hosts", "127.0.0.1", "--allowed-hosts", "brim.test");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            await SwapAndBatchWindowOptionsTests.WaitUntilHealthyAsync(http, serve);

            async Task<int> StatusWithHost(string name)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "health");
                request.Headers.Host = name;
                using var response = await http.SendAsync(request);
                return (int)response.StatusCode;
            }

            Assert.Equal(200, await StatusWithHost("brim.test"));
            Assert.Equal(400, await StatusWithHost("localhost")); // the loopback default no longer applies
            Assert.Equal(400, await StatusWithHost("evil.test"));
        }
        finally
        {
            await stop.CancelAsync();
        }

        var (code, _, error) = await serve;
        Assert.True(code == 0, error);
        data.Delete(recursive: true);
    }
}
