using System.Xml.Linq;
using Brim.Telemetry.Reports;

namespace Brim.Telemetry.Tests;

public class BenchReportWriterTests
{
    private static readonly BenchReport Report = new()
    {
        Model = "Llama-3.1-8B (dummy weights)",
        Device = "NVIDIA H100 80GB HBM3",
        Date = new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero),
        HourlyCost = 3.60,
        CeilingsSource = "measured at startup",
        BatchSweep =
        [
            new(1, 180, 0.93, 0.002, 1.0),
            new(8, 1400, 0.91, 0.015, 1.0),
            new(64, 9000, 0.80, 0.09, 1.0),
        ],
        Batching = [new("static", 2000, 0.45, 9.5), new("continuous", 4100, 0.93, 4.1)],
        TrafficMix = [new("online only", 1200, 0, 0.05, 0.2), new("unified", 1150, 3900, 0.06, 0.95)],
        Notes = "nvidia-smi showed 100 % busy at every batch size.",
    };

    [Fact]
    public void Render_SweepRows_RelativeThroughputAndCostByHand()
    {
        var (markdown, charts) = BenchReportWriter.Render(Report);

        // $3.60/h = $0.001/s; at 180 tokens/s: 0.001 / 180 · 1e6 = $5.556 per 1M; 1,400/180 = 7.8×; 9,000/180 = 50.0×.
        Assert.Contains("| 1 | 1.6 % | 180 | 1.0× | 93.0 % | 0.2 % | 100.0 % | $5.556 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 8 | 12.5 % | 1,400 | 7.8× |", markdown, StringComparison.Ordinal);
        Assert.Contains("| 64 | 100.0 % | 9,000 | 50.0× | 80.0 % | 9.0 % | 100.0 % | $0.111 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| unified | 1,150 | 3,900 | 5,050 | 60 ms | 95.0 % | $0.198 |", markdown, StringComparison.Ordinal);
        Assert.Contains("nvidia-smi showed 100 % busy", markdown, StringComparison.Ordinal);
        foreach (var file in charts.Keys)
        {
            Assert.Contains($"]({file})", markdown, StringComparison.Ordinal);
        }

        Assert.Equal(["batching.svg", "cost-vs-batch.svg", "throughput-vs-batch.svg", "traffic-mix.svg", "utilization-vs-batch.svg"], charts.Keys.Order());
    }

    [Fact]
    public void Write_Directory_WritesMarkdownAndWellFormedSvg()
    {
        var dir = Directory.CreateTempSubdirectory("brim-report-").FullName;
        try
        {
            var path = BenchReportWriter.Write(Report, dir);

            Assert.Equal(Path.Combine(dir, "report.md"), path);
            var svgs = Directory.GetFiles(dir, "*.svg");
            Assert.Equal(5, svgs.Length);
            foreach (var svg in svgs)
            {
                var doc = XDocument.Load(svg);
                Assert.Equal("svg", doc.Root!.Name.LocalName);
                Assert.DoesNotContain("NaN", File.ReadAllText(svg), StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WriteLineChart_ThreePoints_OnePolylineThroughScaledPoints()
    {
        var svg = SvgChartWriter.Write(new LineChart("t", "batch", "tokens/s", [new ChartSeries("s", [(1, 0), (4, 50), (16, 100)])], LogX: true));
        var ns = XNamespace.Get("http://www.w3.org/2000/svg");
        var doc = XDocument.Parse(svg);

        var line = Assert.Single(doc.Descendants(ns + "polyline"));
        // Plot area x 72..700 over log2 1..16, y 60..304 over 0..100: (1,0)→(72,304), (4,50)→(386,182), (16,100)→(700,60).
        Assert.Equal("72,304 386,182 700,60", line.Attribute("points")!.Value);
        Assert.Equal(3, doc.Descendants(ns + "circle").Count());
    }

    [Fact]
    public void WriteBarChart_MismatchedValues_Throws() =>
        Assert.Throws<ArgumentException>(() => SvgChartWriter.Write(new BarChart("t", "y", ["a", "b"], ["s"], [[1.0]])));

    [Fact]
    public void WriteLineChart_NaNPoint_Throws() =>
        Assert.Throws<ArgumentException>(() => SvgChartWriter.Write(new LineChart("t", "x", "y", [new ChartSeries("s", [(1, double.NaN)])])));

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(7.0, 10.0)]
    [InlineData(180.0, 200.0)]
    [InlineData(9000.0, 10000.0)]
    [InlineData(100.0, 100.0)]
    [InlineData(101.0, 200.0)]
    public void NiceMax_Values_RoundUpToNiceNumbers(double max, double expected) => Assert.Equal(expected, SvgChartWriter.NiceMax(max));
}
