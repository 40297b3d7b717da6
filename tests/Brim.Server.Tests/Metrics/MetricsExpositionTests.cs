using Brim.Engine;
using Brim.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Tests.Metrics;

/// <summary>
/// /metrics as a whole, server, batch and telemetry families together: written by one writer, so a served model name
/// that needs escaping is escaped the same way on every sample, and no family is announced twice.
/// </summary>
public class MetricsExpositionTests
{
    [Fact]
    public async Task Metrics_ServedNameWithQuoteAndBackslash_EveryFamilyEscapesItOnce()
    {
        const string name = "my \"model\"\\v1";
        using var host = ModelHost.Load(new ModelHostOptions
        {
            Device = DeviceKind.Cpu, CpuThreads = 1, ServedModelName = name, Engine = new EngineOptions { NumKvBlocks = 64 },
        });
        var data = Directory.CreateTempSubdirectory("brim-metrics-");
        try
        {
            await using var server = BrimServer.Create(host, new ServerOptions { Port = 0, MinimumLogLevel = LogLevel.Warning, DataDirectory = data.FullName });
            await server.StartAsync();
            using var http = new HttpClient { BaseAddress = server.BaseAddress };

            using var response = await http.GetAsync(new Uri("metrics", UriKind.Relative));
            var text = await response.Content.ReadAsStringAsync();
            var samples = MetricsText.Parse(text);

            var help = text.Split('\n').Where(l => l.StartsWith("# HELP ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
            Assert.Equal(help.Count, help.Distinct().Count());
            foreach (var family in new[] { "brim:num_requests_running", "brim:batches", "brim:nvml_available", "brim:time_to_first_token_seconds_bucket" })
            {
                Assert.Contains(samples.Keys, k => k.StartsWith(family + "{", StringComparison.Ordinal));
            }

            Assert.All(samples.Keys, k => Assert.StartsWith("model_name=\"my \\\"model\\\"\\\\v1\"", k[(k.IndexOf('{', StringComparison.Ordinal) + 1)..], StringComparison.Ordinal));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
