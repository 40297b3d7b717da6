using Brim.Telemetry.Exposition;

namespace Brim.Telemetry.Tests;

/// <summary>The one Prometheus text writer: exact lines, escaping, number formatting, unknown values and histograms.</summary>
public class PrometheusTextTests
{
    [Fact]
    public void Gauge_CommonAndOwnLabels_WritesHelpTypeThenOneSample()
    {
        var text = new PrometheusText(("model_name", "m"));

        text.Gauge("brim:x", "An x.", 2.5, ("mode", "swap"));

        Assert.Equal("# HELP brim:x An x.\n# TYPE brim:x gauge\nbrim:x{model_name=\"m\",mode=\"swap\"} 2.5\n", text.ToString());
    }

    [Fact]
    public void Sample_LabelValueWithQuoteBackslashAndNewline_EscapesThem()
    {
        var text = new PrometheusText(("model_name", "a\"b\\c\nd"));

        text.Sample("brim:x", 1, ("gpu_name", "é \"x\""));

        Assert.Equal("brim:x{model_name=\"a\\\"b\\\\c\\nd\",gpu_name=\"é \\\"x\\\"\"} 1\n", text.ToString());
    }

    [Fact]
    public void Family_HelpWithBackslashAndNewline_EscapesOnlyThose()
    {
        var text = new PrometheusText();

        text.Family("brim:x", "counter", "a \\ b\nc \"quoted\"");

        Assert.Equal("# HELP brim:x a \\\\ b\\nc \"quoted\"\n# TYPE brim:x counter\n", text.ToString());
    }

    [Fact]
    public void Sample_NoLabels_WritesNoBraces()
    {
        var text = new PrometheusText();

        text.Sample("brim:x", 3);

        Assert.Equal("brim:x 3\n", text.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Sample_UnknownValue_IsLeftOut(double? value)
    {
        var text = new PrometheusText(("model_name", "m"));

        text.Sample("brim:x", value);

        Assert.Equal(string.Empty, text.ToString());
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1e-4, "0.0001")]
    [InlineData(0.1, "0.1")]
    [InlineData(123456789012.0, "123456789012")]
    [InlineData(1e300, "1E+300")]
    [InlineData(-2.5, "-2.5")]
    public void Number_Value_IsShortestTextThatRoundTrips(double value, string expected)
    {
        Assert.Equal(expected, PrometheusText.Number(value));
        Assert.Equal(value, double.Parse(PrometheusText.Number(value), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Histogram_BoundsAndCounts_WritesCumulativeBucketsInfSumAndCount()
    {
        var text = new PrometheusText(("model_name", "m"));

        text.Histogram("brim:t", [0.5, 1], [1, 3, 4], 2.75, 4, ("traffic_class", "online"));

        Assert.Equal(
            "brim:t_bucket{model_name=\"m\",traffic_class=\"online\",le=\"0.5\"} 1\n"
            + "brim:t_bucket{model_name=\"m\",traffic_class=\"online\",le=\"1\"} 3\n"
            + "brim:t_bucket{model_name=\"m\",traffic_class=\"online\",le=\"+Inf\"} 4\n"
            + "brim:t_sum{model_name=\"m\",traffic_class=\"online\"} 2.75\n"
            + "brim:t_count{model_name=\"m\",traffic_class=\"online\"} 4\n",
            text.ToString());
    }

    [Fact]
    public void Histogram_CountsWithoutInfBucket_Throws()
    {
        var text = new PrometheusText();

        Assert.Throws<ArgumentException>(() => text.Histogram("brim:t", [0.5, 1], [1, 3], 2.75, 3));
    }
}
