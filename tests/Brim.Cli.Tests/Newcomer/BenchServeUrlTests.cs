namespace Brim.Cli.Tests.Newcomer;

/// <summary>`brim bench serve --url` against a separately started `brim serve`, both real processes.</summary>
public class BenchServeUrlTests
{
    [Fact]
    public async Task BenchServe_UrlOfARunningServer_MeasuresIt()
    {
        var port = ReadmeCommandTests.FreePort();
        var data = Directory.CreateTempSubdirectory("brim-bench-url-");
        try
        {
            using var server = CliProcess.Start($"serve --port {port} --data-dir {data.FullName} --device cpu");
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await server.WaitReadyAsync(http);

            // The help's own example form: a trailing slash.
            using var bench = CliProcess.Start($"bench serve --url http://127.0.0.1:{port}/ --num-prompts 8 --max-concurrency 4 --input-len 16 --output-len 8");
            var code = await bench.WaitAsync(TimeSpan.FromMinutes(2));

            Assert.True(code == 0, bench.Error + bench.Output);
            Assert.Contains("8 ok, 0 failed", bench.Output, StringComparison.Ordinal);
            server.Terminate();
            await server.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
