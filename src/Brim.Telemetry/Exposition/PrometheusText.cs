using System.Globalization;
using System.Text;

namespace Brim.Telemetry.Exposition;

/// <summary>
/// The one writer of the Prometheus text exposition format (0.0.4) behind /metrics: HELP and TYPE lines before a
/// family's samples, label values and help text escaped as the format requires, numbers in the shortest form that
/// round-trips, histogram buckets cumulative with <c>le="+Inf"</c> last. Every sample carries the common labels given
/// at construction (the model name) before its own. A value that is unknown (null, NaN, ±Inf: no ceiling, no price, no
/// request yet) is left out rather than written, so a dashboard never plots a NaN or a made-up 0.
/// </summary>
public sealed class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new(8192);
    private readonly string _common;

    public PrometheusText(params ReadOnlySpan<(string Name, string Value)> commonLabels)
    {
        var common = new StringBuilder();
        AppendLabels(common, commonLabels);
        _common = common.ToString();
    }

    /// <summary>Announces a family: its HELP and TYPE lines (type: gauge, counter or histogram).</summary>
    public void Family(string name, string type, string help) =>
        _text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    /// <summary>One sample of the family announced last (or of its _bucket/_sum/_count series); nothing when unknown.</summary>
    public void Sample(string name, double? value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        if (value is not { } v || !double.IsFinite(v))
        {
            return;
        }

        _text.Append(name);
        if (_common.Length > 0 || labels.Length > 0)
        {
            _text.Append('{').Append(_common);
            if (_common.Length > 0 && labels.Length > 0)
            {
                _text.Append(',');
            }

            AppendLabels(_text, labels);
            _text.Append('}');
        }

        _text.Append(' ').Append(Number(v)).Append('\n');
    }

    /// <summary>A gauge family of one sample.</summary>
    public void Gauge(string name, string help, double? value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        Family(name, "gauge", help);
        Sample(name, value, labels);
    }

    /// <summary>A counter family of one sample.</summary>
    public void Counter(string name, string help, double value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        Family(name, "counter", help);
        Sample(name, value, labels);
    }

    /// <summary>
    /// The series of one histogram of a family announced as a histogram: a cumulative bucket per upper bound, the +Inf
    /// bucket, the sum and the count. <paramref name="cumulativeCounts"/> has one entry per bound and one for +Inf.
    /// </summary>
    public void Histogram(
        string name, IReadOnlyList<double> upperBounds, IReadOnlyList<long> cumulativeCounts, double sum, long count,
        params ReadOnlySpan<(string Name, string Value)> labels)
    {
        ArgumentNullException.ThrowIfNull(upperBounds);
        ArgumentNullException.ThrowIfNull(cumulativeCounts);
        if (cumulativeCounts.Count != upperBounds.Count + 1)
        {
            throw new ArgumentException($"{name}: {upperBounds.Count} bounds need {upperBounds.Count + 1} cumulative counts (the last for +Inf), got {cumulativeCounts.Count}", nameof(cumulativeCounts));
        }

        var bucketLabels = new (string Name, string Value)[labels.Length + 1];
        labels.CopyTo(bucketLabels);
        for (var i = 0; i <= upperBounds.Count; i++)
        {
            bucketLabels[^1] = ("le", i < upperBounds.Count ? Number(upperBounds[i]) : "+Inf");
            Sample(name + "_bucket", cumulativeCounts[i], bucketLabels);
        }

        Sample(name + "_sum", sum, labels);
        Sample(name + "_count", count, labels);
    }

    public override string ToString() => _text.ToString();

    /// <summary>A label value as the format quotes it: backslash, double quote and line feed escaped.</summary>
    public static string EscapeLabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    /// <summary>A number as the format writes it: invariant culture, the shortest text that parses back to the same double.</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    // HELP text escapes backslash and line feed only; a double quote stands as it is.
    private static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static void AppendLabels(StringBuilder text, ReadOnlySpan<(string Name, string Value)> labels)
    {
        for (var i = 0; i < labels.Length; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(labels[i].Name).Append("=\"").Append(EscapeLabelValue(labels[i].Value)).Append('"');
        }
    }
}
