using System.Globalization;
using System.Text;

namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// The <c>tojson</c> filter as Hugging Face defines it: Python's <c>json.dumps(value, ensure_ascii=False,
/// indent=indent, sort_keys=sort_keys)</c>. Separators are <c>", "</c> and <c>": "</c>, or <c>","</c> and
/// <c>": "</c> with an indent; non-ASCII text is written as is and, unlike Jinja's own filter, &lt; &gt; &amp; and
/// ' are not HTML-escaped.
/// </summary>
internal static class JsonWriter
{
    private const int MaxDepth = 64;

    public static string Write(object? value, int? indent, bool sortKeys, bool ensureAscii)
    {
        var sb = new StringBuilder();
        new Writer(sb, indent, sortKeys, ensureAscii).WriteValue(value, 0);
        return sb.ToString();
    }

    private readonly record struct Writer(StringBuilder Output, int? Indent, bool SortKeys, bool EnsureAscii)
    {
        public void WriteValue(object? value, int depth)
        {
            if (depth > MaxDepth)
            {
                throw new TemplateRuntimeError($"tojson: value is nested more than {MaxDepth} deep");
            }

            switch (value)
            {
                case null or Undefined: Output.Append("null"); break;
                case bool b: Output.Append(b ? "true" : "false"); break;
                case long l: Output.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                case double d: Output.Append(FormatNumber(d)); break;
                case string s: WriteString(s); break;
                case List<object?> list: WriteContainer('[', ']', list.Count, list.Select(item => ((string?)null, item)), depth); break;
                case OrderedDictionary<string, object?> dict: WriteObject(dict, depth); break;
                case Namespace ns: WriteObject(ns.Attributes, depth); break;
                default: throw new TemplateRuntimeError($"Object of type {ValueOps.TypeName(value)} is not JSON serializable");
            }
        }

        private void WriteObject(OrderedDictionary<string, object?> dict, int depth)
        {
            IEnumerable<KeyValuePair<string, object?>> entries = SortKeys ? dict.OrderBy(kv => kv.Key, StringComparer.Ordinal) : dict;
            WriteContainer('{', '}', dict.Count, entries.Select(kv => ((string?)kv.Key, kv.Value)), depth);
        }

        private void WriteContainer(char open, char close, int count, IEnumerable<(string? Key, object? Value)> entries, int depth)
        {
            Output.Append(open);
            if (count == 0)
            {
                Output.Append(close);
                return;
            }

            bool first = true;
            foreach (var (key, value) in entries)
            {
                if (!first)
                {
                    Output.Append(Indent is null ? ", " : ",");
                }

                first = false;
                NewLine(depth + 1);
                if (key is not null)
                {
                    WriteString(key);
                    Output.Append(": ");
                }

                WriteValue(value, depth + 1);
            }

            NewLine(depth);
            Output.Append(close);
        }

        private void NewLine(int depth)
        {
            if (Indent is { } width)
            {
                Output.Append('\n').Append(' ', width * depth);
            }
        }

        private void WriteString(string s)
        {
            Output.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': Output.Append("\\\""); break;
                    case '\\': Output.Append("\\\\"); break;
                    case '\n': Output.Append("\\n"); break;
                    case '\r': Output.Append("\\r"); break;
                    case '\t': Output.Append("\\t"); break;
                    case '\b': Output.Append("\\b"); break;
                    case '\f': Output.Append("\\f"); break;
                    default:
                        if (c < 0x20 || (EnsureAscii && c > 0x7E))
                        {
                            Output.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            Output.Append(c);
                        }

                        break;
                }
            }

            Output.Append('"');
        }

        private static string FormatNumber(double d) =>
            double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : ValueOps.FormatFloat(d);
    }
}
