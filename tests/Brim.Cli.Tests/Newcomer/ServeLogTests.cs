using System.Net.Http.Json;
using System.Text.Json;

namespace Brim.Cli.Tests.Newcomer;

/// <summary>
/// What `brim serve` writes while it serves: one access line per request on stderr (status, tokens, TTFT, duration in
/// human units), nothing on stdout, none of ASP.NET Core's per-request lines; --log-format json makes each a JSON object;
/// OTEL_TRACES_EXPORTER=console puts each request's spans on stdout.
/// </summary>
public class ServeLogTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serve_ChatCompletions_OneAccessLineEachOnStderr(bool stream)
    {
        var (output, error) = await ServeTwoChatsAsync(stream, "");

        var access = error.Split('\n').Where(l => l.Contains("/v1/chat/completions", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, access.Count);
        Assert.All(access, line => Assert.Matches(@"POST /v1/chat/completions 200 tokens=4 ttft=\d+(µs|ms) \d+(\.\d+)?(µs|ms|s)$", line.TrimEnd()));
        Assert.DoesNotContain("Request starting", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Executing endpoint", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public async Task Serve_LogFormatJson_AccessLinesAreJsonObjects()
    {
        var (_, error) = await ServeTwoChatsAsync(stream: false, "--log-format json");

        var access = error.Split('\n').Where(l => l.Contains("/v1/chat/completions", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, access.Count);
        foreach (var line in access)
        {
            var state = JsonDocument.Parse(line).RootElement.GetProperty("State");
            Assert.Equal(200, state.GetProperty("Status").GetInt32());
            Assert.Equal(4, state.GetProperty("Tokens").GetInt32());
        }
    }

    [Fact]
    public async Task Serve_OtelTracesExporterConsole_WritesEachGenerationSpanToStdout()
    {
        var environment = new Dictionary<string, string> { ["OTEL_TRACES_EXPORTER"] = "console", ["OTEL_SERVICE_NAME"] = "brim-console-test" };

        var (output, error) = await ServeTwoChatsAsync(stream: false, "", environment);

        Assert.Contains("brim: traces of each request go to stdout as service 'brim-console-test'", error, StringComparison.Ordinal);
        Assert.Equal(2, Occurrences(output, "Activity.DisplayName:        chat stories260K"));
        Assert.Equal(2, Occurrences(output, "gen_ai.usage.output_tokens: 4"));
        Assert.Contains("service.name: brim-console-test", output, StringComparison.Ordinal);
    }

    private static int Occurrences(string text, string value) => text.Split(value).Length - 1;

    private static async Task<(string Output, string Error)> ServeTwoChatsAsync(bool stream, string flags, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = ReadmeCommandTests.FreePort();
        var data = Directory.CreateTempSubdirectory("brim-log-");
        try
        {
            using var brim = CliProcess.Start($"serve --port {port} --data-dir {data.FullName} --device cpu --threads 1 {flags}", environment);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await brim.WaitReadyAsync(http);
            for (var i = 0; i < 2; i++)
            {
                using var reply = await http.PostAsJsonAsync("v1/chat/completions", new
                {
                    model = "stories260K",
                    messages = new[] { new { role = "user", content = "Hi" } },
                    max_tokens = 4,
                    temperature = 0,
                    stream,
                    ignore_eos = true,
                });
                Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
                await reply.Content.ReadAsStringAsync();
            }

            brim.Terminate();
            Assert.Equal(0, await brim.WaitAsync(TimeSpan.FromSeconds(60)));
            return (brim.Output, brim.Error);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
