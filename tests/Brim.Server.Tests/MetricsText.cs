using System.Globalization;

namespace Brim.Server.Tests;

/// <summary>Reads a Prometheus text exposition into samples keyed by name and labels, checking its line format.</summary>
internal static class MetricsText
{
    public static async Task<Dictionary<string, double>> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync("metrics");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return Parse(await response.Content.ReadAsStringAsync());
    }

    public static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                Assert.Matches(@"^# (HELP|TYPE) brim:[a-z0-9_]+ .+$", line);
                continue;
            }

            var space = line.LastIndexOf(' ');
            Assert.True(space > 0, line);
            samples.Add(line[..space], double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture));
        }

        return samples;
    }

    /// <summary>The value of the sample whose name is <paramref name="name"/> and whose labels contain <paramref name="label"/>.</summary>
    public static double Value(Dictionary<string, double> samples, string name, string? label = null) =>
        samples.Single(s => s.Key.StartsWith(name + "{", StringComparison.Ordinal) && (label is null || s.Key.Contains(label, StringComparison.Ordinal))).Value;
}
