using System.Globalization;
using System.Net;
using System.Text;

namespace Brim.Telemetry.Reports;

/// <summary>
/// Self-contained SVG line and bar charts (no scripts, no fonts, no external references) for Markdown reports: they
/// render on GitHub, in browsers and in editors alike.
/// </summary>
public static class SvgChartWriter
{
    private const int Width = 720, Height = 360, Left = 72, Right = 20, Top = 60, Bottom = 56;
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

    public static string Write(LineChart chart)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var points = chart.Series.SelectMany(s => s.Points).ToArray();
        if (points.Length == 0)
        {
            throw new ArgumentException($"chart '{chart.Title}' has no points", nameof(chart));
        }

        if (points.Any(p => !double.IsFinite(p.X) || !double.IsFinite(p.Y) || (chart.LogX && p.X <= 0)))
        {
            throw new ArgumentException($"chart '{chart.Title}' has a non-finite point{(chart.LogX ? " or x ≤ 0 on a log axis" : string.Empty)}", nameof(chart));
        }

        Func<double, double> fx = chart.LogX ? Math.Log2 : x => x;
        var (xMin, xMax) = (points.Min(p => fx(p.X)), points.Max(p => fx(p.X)));
        if (xMax == xMin)
        {
            (xMin, xMax) = (xMin - 1, xMax + 1);
        }

        var yMax = NiceMax(points.Max(p => p.Y));
        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        double X(double x) => Left + (plotW * (fx(x) - xMin) / (xMax - xMin));
        double Y(double y) => Top + (plotH * (1 - (Math.Max(0, y) / yMax)));

        var svg = Begin(chart.Title);
        YAxis(svg, yMax, chart.YLabel);
        var xTicks = chart.LogX
            ? points.Select(p => p.X).Distinct().Order().ToArray()
            : Enumerable.Range(0, 5).Select(i => xMin + ((xMax - xMin) * i / 4)).ToArray();
        foreach (var t in xTicks)
        {
            Text(svg, X(t), Height - Bottom + 18, Number(t), "middle");
        }

        Text(svg, Left + (plotW / 2), Height - 14, chart.XLabel, "middle", bold: true);
        for (var i = 0; i < chart.Series.Count; i++)
        {
            var s = chart.Series[i];
            var color = Palette[i % Palette.Length];
            var path = string.Join(' ', s.Points.OrderBy(p => p.X).Select(p => $"{F(X(p.X))},{F(Y(p.Y))}"));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{path}\"/>\n");
            foreach (var p in s.Points)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(X(p.X))}\" cy=\"{F(Y(p.Y))}\" r=\"3\" fill=\"{color}\"/>\n");
            }
        }

        Legend(svg, chart.Series.Select(s => s.Name).ToArray());
        return End(svg);
    }

    public static string Write(BarChart chart)
    {
        ArgumentNullException.ThrowIfNull(chart);
        if (chart.Categories.Count == 0 || chart.Values.Count != chart.SeriesNames.Count || chart.Values.Any(v => v.Count != chart.Categories.Count))
        {
            throw new ArgumentException($"chart '{chart.Title}' needs one value per category for each of its {chart.SeriesNames.Count} series", nameof(chart));
        }

        if (chart.Values.SelectMany(v => v).Any(v => !double.IsFinite(v) || v < 0))
        {
            throw new ArgumentException($"chart '{chart.Title}' has a negative or non-finite value", nameof(chart));
        }

        var yMax = NiceMax(chart.Values.SelectMany(v => v).DefaultIfEmpty(0).Max());
        var plotW = Width - Left - Right;
        var plotH = Height - Top - Bottom;
        var group = plotW / (double)chart.Categories.Count;
        var bar = group * 0.7 / chart.SeriesNames.Count;
        var svg = Begin(chart.Title);
        YAxis(svg, yMax, chart.YLabel);
        for (var c = 0; c < chart.Categories.Count; c++)
        {
            var x0 = Left + (group * c) + (group * 0.15);
            for (var s = 0; s < chart.SeriesNames.Count; s++)
            {
                var v = chart.Values[s][c];
                var h = plotH * v / yMax;
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"{F(x0 + (bar * s))}\" y=\"{F(Top + plotH - h)}\" width=\"{F(bar - 2)}\" height=\"{F(h)}\" fill=\"{Palette[s % Palette.Length]}\"><title>{Escape(chart.SeriesNames[s])}: {Number(v)}</title></rect>\n");
                Text(svg, x0 + (bar * s) + (bar / 2), Top + plotH - h - 4, Number(v), "middle");
            }

            Text(svg, Left + (group * (c + 0.5)), Height - Bottom + 18, chart.Categories[c], "middle");
        }

        Legend(svg, [.. chart.SeriesNames]);
        return End(svg);
    }

    /// <summary>
    /// Charts written by this class one above the other in one SVG (each kept whole as a nested &lt;svg&gt;): quantities of
    /// different units over the same x axis, read together (throughput and latency over a run).
    /// </summary>
    public static string Stack(params string[] charts)
    {
        ArgumentNullException.ThrowIfNull(charts);
        var svg = new StringBuilder(charts.Sum(c => c.Length) + 512);
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height * charts.Length}\" viewBox=\"0 0 {Width} {Height * charts.Length}\">\n");
        for (var i = 0; i < charts.Length; i++)
        {
            // Each chart is a complete <svg> element: placed with y, its own coordinates stay valid.
            var chart = charts[i].Replace("<svg xmlns=\"http://www.w3.org/2000/svg\" ", $"<svg y=\"{Height * i}\" ", StringComparison.Ordinal);
            svg.Append(chart);
        }

        return End(svg);
    }

    private static StringBuilder Begin(string title)
    {
        var svg = new StringBuilder(4096);
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        Text(svg, Width / 2.0, 24, title, "middle", bold: true, size: 15);
        return svg;
    }

    private static string End(StringBuilder svg) => svg.Append("</svg>\n").ToString();

    private static void YAxis(StringBuilder svg, double yMax, string label)
    {
        var plotH = Height - Top - Bottom;
        for (var i = 0; i <= 4; i++)
        {
            var v = yMax * i / 4;
            var y = Top + (plotH * (1 - (i / 4.0)));
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#ddd\"/>\n");
            Text(svg, Left - 6, y + 4, Number(v), "end");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{Height - Bottom}\" stroke=\"#333\"/>\n");
        svg.Append(CultureInfo.InvariantCulture,
            $"<text x=\"16\" y=\"{F(Top + (plotH / 2.0))}\" text-anchor=\"middle\" font-weight=\"bold\" transform=\"rotate(-90 16 {F(Top + (plotH / 2.0))})\">{Escape(label)}</text>\n");
    }

    private static void Legend(StringBuilder svg, string[] names)
    {
        var x = Left + 10.0;
        for (var i = 0; i < names.Length; i++)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(x)}\" y=\"{Top - 22}\" width=\"12\" height=\"4\" fill=\"{Palette[i % Palette.Length]}\"/>\n");
            Text(svg, x + 16, Top - 17, names[i], "start");
            x += 28 + (names[i].Length * 6.5);
        }
    }

    private static void Text(StringBuilder svg, double x, double y, string text, string anchor, bool bold = false, int size = 12) =>
        svg.Append(CultureInfo.InvariantCulture,
            $"<text x=\"{F(x)}\" y=\"{F(y)}\" text-anchor=\"{anchor}\"{(bold ? " font-weight=\"bold\"" : string.Empty)}{(size != 12 ? $" font-size=\"{size}\"" : string.Empty)}>{Escape(text)}</text>\n");

    /// <summary>The smallest 1, 2, 2.5 or 5 × 10^k at or above the largest value (1 when nothing is above zero).</summary>
    internal static double NiceMax(double max)
    {
        if (!(max > 0))
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (var m in new[] { 1.0, 2.0, 2.5, 5.0, 10.0 })
        {
            if (m * magnitude >= max)
            {
                return m * magnitude;
            }
        }

        return 10 * magnitude;
    }

    internal static string Number(double v) => Math.Abs(v) switch
    {
        >= 1e9 => (v / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + "G",
        >= 1e6 => (v / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M",
        >= 1e4 => (v / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        >= 100 => v.ToString("0", CultureInfo.InvariantCulture),
        >= 1 => v.ToString("0.##", CultureInfo.InvariantCulture),
        0 => "0",
        _ => v.ToString("0.###", CultureInfo.InvariantCulture),
    };

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
