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

    public const string Online = "traffic_class=\"online\"";
    public const string Offline = "traffic_class=\"offline\"";

    /// <summary>The value of the one sample named <paramref name="name"/> whose labels contain every one of <paramref name="labels"/>.</summary>
    public static double Value(Dictionary<string, double> samples, string name, params string[] labels) =>
        Matching(samples, name, labels).Single().Value;

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels contain every one of <paramref name="labels"/>.</summary>
    public static double Sum(Dictionary<string, double> samples, string name, params string[] labels) =>
        Matching(samples, name, labels).Sum(s => s.Value);

    private static IEnumerable<KeyValuePair<string, double>> Matching(Dictionary<string, double> samples, string name, string[] labels) =>
        samples.Where(s => s.Key.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(l => s.Key.Contains(l, StringComparison.Ordinal)));
}
