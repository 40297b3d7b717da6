using System.Xml.Linq;
using Brim.Telemetry.Reports;

namespace Brim.Telemetry.Tests;

public class SvgChartStackTests
{
    [Fact]
    public void Stack_TwoCharts_OneWellFormedSvgWithTheSecondBelowTheFirst()
    {
        var a = SvgChartWriter.Write(new LineChart("tokens", "s", "tok/s", [new ChartSeries("online", [(0, 1), (1, 2)])]));
        var b = SvgChartWriter.Write(new LineChart("latency", "s", "ms", [new ChartSeries("p99", [(0, 5), (1, 4)])]));

        var svg = XDocument.Parse(SvgChartWriter.Stack(a, b));

        XNamespace ns = "http://www.w3.org/2000/svg";
        var outer = svg.Root!;
        var height = double.Parse(outer.Attribute("height")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        var inner = outer.Elements(ns + "svg").ToList();
        Assert.Equal(2, inner.Count);
        Assert.Equal(["0", (height / 2).ToString(System.Globalization.CultureInfo.InvariantCulture)], inner.Select(e => e.Attribute("y")!.Value));
        Assert.Contains(inner[1].Descendants(ns + "text"), t => t.Value == "latency");
    }
}
