namespace Brim.Telemetry.Reports;

/// <summary>A named line of (x, y) points for <see cref="SvgChartWriter"/>.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<(double X, double Y)> Points);

/// <summary>A line chart: axes with labels and units, an optional log2 x axis (batch sizes 1, 2, 4, …).</summary>
public sealed record LineChart(string Title, string XLabel, string YLabel, IReadOnlyList<ChartSeries> Series, bool LogX = false);

/// <summary>Grouped bars: one group per category, one bar per series (values[series][category]).</summary>
public sealed record BarChart(string Title, string YLabel, IReadOnlyList<string> Categories, IReadOnlyList<string> SeriesNames, IReadOnlyList<IReadOnlyList<double>> Values);
