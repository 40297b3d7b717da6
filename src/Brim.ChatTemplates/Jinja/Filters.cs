using System.Globalization;

namespace Brim.ChatTemplates.Jinja;

/// <summary>Jinja's filters (<c>x | name(args)</c>) that chat templates use, with Jinja's (Python) semantics.</summary>
internal static class Filters
{
    public static object? Apply(Interpreter interpreter, string name, object? value, CallArguments arguments)
    {
        switch (name)
        {
            case "safe": return value;
            case "string": return ValueOps.ToStr(value);
            case "trim": return StringMethods.Strip(ValueOps.ToStr(value), arguments.Get(0, "chars"), start: true, end: true);
            case "upper": return ValueOps.ToStr(value).ToUpperInvariant();
            case "lower": return ValueOps.ToStr(value).ToLowerInvariant();
            case "capitalize": return StringMethods.Capitalize(ValueOps.ToStr(value));
            case "title": return TitleWords(ValueOps.ToStr(value));
            case "replace":
                return StringMethods.Replace(
                    ValueOps.ToStr(value),
                    ValueOps.ToStr(arguments.Get(0, "old")),
                    ValueOps.ToStr(arguments.Get(1, "new")),
                    arguments.Get(2, "count") is long count ? count : -1);
            case "indent": return Indent(ValueOps.ToStr(value), arguments);
            case "tojson": return ToJson(value, arguments);
            case "length" or "count": return ValueOps.Length(value);
            case "first":
                var items = ValueOps.Iterate(value);
                return items.Count > 0 ? items[0] : new Undefined("No first item, sequence was empty.");
            case "last":
                var all = ValueOps.Iterate(value);
                return all.Count > 0 ? all[^1] : new Undefined("No last item, sequence was empty.");
            case "join": return Join(value, arguments);
            case "default" or "d": return Default(value, arguments);
            case "items": return value is Undefined ? new List<object?>() : Items(RequireDict(value, name));
            case "list": return new List<object?>(ValueOps.Iterate(value));
            case "reverse": return value is string s ? new string(s.Reverse().ToArray()) : Enumerable.Reverse(ValueOps.Iterate(value)).ToList();
            case "unique": return Unique(value, arguments);
            case "sort": return Sort(value, arguments);
            case "dictsort": return RequireDict(value, name).OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase)
                    .Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList();
            case "int": return ToInt(value, arguments.Get(0, "default", 0L));
            case "float": return ToFloat(value, arguments.Get(0, "default", 0.0));
            case "abs": return value switch
            {
                long l => (object)Math.Abs(l),
                double d => (object)Math.Abs(d),
                bool b => (object)(b ? 1L : 0L),
                _ => throw new TemplateRuntimeError($"bad operand type for abs(): '{ValueOps.TypeName(value)}'"),
            };
            case "round": return Round(value, arguments);
            case "sum": return Sum(value, arguments, interpreter.Budget);
            case "min" or "max": return MinMax(value, name == "max", arguments);
            case "selectattr" or "rejectattr": return SelectAttribute(value, arguments, keep: name == "selectattr");
            case "select" or "reject": return Select(value, arguments, keep: name == "select");
            case "map": return Map(interpreter, value, arguments);
            default: throw new TemplateRuntimeError($"no filter named '{name}'");
        }
    }

    /// <summary>Jinja's <c>title</c> filter: words split at spaces, hyphens and opening brackets are capitalized.</summary>
    private static string TitleWords(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length);
        bool wordStart = true;
        foreach (char c in s)
        {
            bool separator = char.IsWhiteSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            sb.Append(separator ? c : wordStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            wordStart = separator;
        }

        return sb.ToString();
    }

    private static string Indent(string s, CallArguments arguments)
    {
        object? width = arguments.Get(0, "width", 4L);
        string pad = width is string text ? text : new string(' ', (int)Math.Clamp(width is long w ? w : 4, 0, 1000));
        bool first = ValueOps.IsTruthy(arguments.Get(1, "first", false));
        bool blank = ValueOps.IsTruthy(arguments.Get(2, "blank", false));
        string[] lines = s.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if ((i > 0 || first) && (blank || lines[i].Length > 0))
            {
                lines[i] = pad + lines[i];
            }
        }

        return string.Join('\n', lines);
    }

    private static string ToJson(object? value, CallArguments arguments)
    {
        object? indent = arguments.Get(0, "indent");
        return JsonWriter.Write(
            value,
            indent switch
            {
                null => null,
                long l => (int)Math.Clamp(l, 0, 100),
                _ => throw new TemplateRuntimeError("tojson: indent must be an integer"),
            },
            sortKeys: ValueOps.IsTruthy(arguments.Get(-1, "sort_keys", false)),
            ensureAscii: ValueOps.IsTruthy(arguments.Get(-1, "ensure_ascii", false)));
    }

    private static string Join(object? value, CallArguments arguments)
    {
        string separator = ValueOps.ToStr(arguments.Get(0, "d", ""));
        object? attribute = arguments.Get(1, "attribute");
        var items = ValueOps.Iterate(value);
        return string.Join(separator, items.Select(item => ValueOps.ToStr(attribute is null ? item : Lookup(item, attribute))));
    }

    private static object? Default(object? value, CallArguments arguments)
    {
        object? fallback = arguments.Get(0, "default_value", "");
        bool boolean = ValueOps.IsTruthy(arguments.Get(1, "boolean", false));
        return value is Undefined || (boolean && !ValueOps.IsTruthy(value)) ? fallback : value;
    }

    private static List<object?> Items(OrderedDictionary<string, object?> dict) =>
        dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList();

    private static OrderedDictionary<string, object?> RequireDict(object? value, string filter) =>
        value as OrderedDictionary<string, object?>
        ?? throw new TemplateRuntimeError($"filter '{filter}' needs a mapping, got '{ValueOps.TypeName(value)}'");

    /// <summary>An attribute path such as <c>"function.name"</c> or an integer index, as Jinja's attribute= arguments.</summary>
    private static object? Lookup(object? item, object? attribute)
    {
        if (attribute is long index)
        {
            return Members.GetItem(item, index);
        }

        foreach (string part in ValueOps.ToStr(attribute).Split('.'))
        {
            item = long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long i)
                ? Members.GetItem(item, i)
                : Members.GetItem(item, part);
            if (item is Undefined)
            {
                break;
            }
        }

        return item;
    }

    private static List<object?> Unique(object? value, CallArguments arguments)
    {
        bool caseSensitive = ValueOps.IsTruthy(arguments.Get(0, "case_sensitive", false));
        object? attribute = arguments.Get(1, "attribute");
        var result = new List<object?>();
        var seen = new List<object?>();
        foreach (object? item in ValueOps.Iterate(value))
        {
            object? key = SortKey(attribute is null ? item : Lookup(item, attribute), caseSensitive);
            if (!seen.Any(other => ValueOps.AreEqual(other, key)))
            {
                seen.Add(key);
                result.Add(item);
            }
        }

        return result;
    }

    private static object? SortKey(object? value, bool caseSensitive) =>
        !caseSensitive && value is string s ? s.ToLowerInvariant() : value;

    private static List<object?> Sort(object? value, CallArguments arguments)
    {
        bool reverse = ValueOps.IsTruthy(arguments.Get(0, "reverse", false));
        bool caseSensitive = ValueOps.IsTruthy(arguments.Get(1, "case_sensitive", false));
        object? attribute = arguments.Get(2, "attribute");
        var items = new List<object?>(ValueOps.Iterate(value));
        Comparison<object?> compare = (a, b) => ValueOps.Compare(
            SortKey(attribute is null ? a : Lookup(a, attribute), caseSensitive),
            SortKey(attribute is null ? b : Lookup(b, attribute), caseSensitive));
        // Stable, as Python's sort is.
        var sorted = items.Select((item, i) => (item, i)).ToList();
        sorted.Sort((x, y) => compare(x.item, y.item) is var c && c != 0 ? (reverse ? -c : c) : x.i.CompareTo(y.i));
        return sorted.Select(pair => pair.item).ToList();
    }

    private static object? ToInt(object? value, object? fallback)
    {
        switch (value)
        {
            case long: return value;
            case bool b: return b ? 1L : 0L;
            case double d: return double.IsFinite(d) ? (long)Math.Truncate(d) : fallback;
            case string s:
                string text = s.Trim().Replace("_", "", StringComparison.Ordinal);
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long parsed))
                {
                    return parsed;
                }

                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) && double.IsFinite(number)
                    ? (long)Math.Truncate(number)
                    : fallback;
            default: return fallback;
        }
    }

    private static object? ToFloat(object? value, object? fallback) => value switch
    {
        long l => (double)l,
        double => value,
        bool b => b ? 1.0 : 0.0,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => fallback,
    };

    private static object? Round(object? value, CallArguments arguments)
    {
        int precision = (int)Math.Clamp(arguments.Get(0, "precision", 0L) is long p ? p : 0, 0, 15);
        string method = ValueOps.ToStr(arguments.Get(1, "method", "common"));
        if (!ValueOps.TryGetNumber(value, out double number))
        {
            throw new TemplateRuntimeError($"round needs a number, got '{ValueOps.TypeName(value)}'");
        }

        double scale = Math.Pow(10, precision);
        return method switch
        {
            // Python's round(): half to even; an int stays an int.
            "common" when value is long or bool => (object)(long)number,
            "common" => (object)Math.Round(number, precision, MidpointRounding.ToEven),
            "ceil" => (object)(Math.Ceiling(number * scale) / scale),
            "floor" => (object)(Math.Floor(number * scale) / scale),
            _ => throw new TemplateRuntimeError("round: method must be 'common', 'ceil' or 'floor'"),
        };
    }

    private static object? Sum(object? value, CallArguments arguments, RenderBudget budget)
    {
        object? attribute = arguments.Get(0, "attribute");
        object? total = arguments.Get(1, "start", 0L);
        foreach (object? item in ValueOps.Iterate(value))
        {
            total = Operators.Binary("+", total, attribute is null ? item : Lookup(item, attribute), budget);
        }

        return total;
    }

    private static object? MinMax(object? value, bool max, CallArguments arguments)
    {
        bool caseSensitive = ValueOps.IsTruthy(arguments.Get(0, "case_sensitive", false));
        object? attribute = arguments.Get(1, "attribute");
        var items = ValueOps.Iterate(value);
        if (items.Count == 0)
        {
            return new Undefined($"No aggregated item, sequence was empty.");
        }

        object? best = items[0];
        foreach (object? item in items.Skip(1))
        {
            int c = ValueOps.Compare(
                SortKey(attribute is null ? item : Lookup(item, attribute), caseSensitive),
                SortKey(attribute is null ? best : Lookup(best, attribute), caseSensitive));
            if (max ? c > 0 : c < 0)
            {
                best = item;
            }
        }

        return best;
    }

    /// <summary><c>selectattr("role", "equalto", "user")</c>: items whose attribute passes the test (truthiness without one).</summary>
    private static List<object?> SelectAttribute(object? value, CallArguments arguments, bool keep)
    {
        object? attribute = arguments.Get(0, "attribute") ?? throw new TemplateRuntimeError("selectattr/rejectattr needs an attribute");
        return Filter(value, arguments, item => Lookup(item, attribute), testIndex: 1, keep);
    }

    private static List<object?> Select(object? value, CallArguments arguments, bool keep) =>
        Filter(value, arguments, item => item, testIndex: 0, keep);

    private static List<object?> Filter(object? value, CallArguments arguments, Func<object?, object?> subject, int testIndex, bool keep)
    {
        string? test = arguments.Positional.Count > testIndex ? ValueOps.ToStr(arguments.Positional[testIndex]) : null;
        var testArguments = new CallArguments(arguments.Positional.Skip(testIndex + 1).ToList(), new Dictionary<string, object?>());
        var result = new List<object?>();
        foreach (object? item in ValueOps.Iterate(value))
        {
            object? checkedValue = subject(item);
            bool passes = test is null ? ValueOps.IsTruthy(checkedValue) : Tests.Apply(test, checkedValue, testArguments);
            if (passes == keep)
            {
                result.Add(item);
            }
        }

        return result;
    }

    /// <summary><c>map(attribute="name", default=x)</c> or <c>map("filter", args...)</c>.</summary>
    private static List<object?> Map(Interpreter interpreter, object? value, CallArguments arguments)
    {
        var items = ValueOps.Iterate(value);
        if (arguments.Keyword.TryGetValue("attribute", out object? attribute))
        {
            bool hasDefault = arguments.Keyword.TryGetValue("default", out object? fallback);
            return items.Select(item => Lookup(item, attribute) is Undefined && hasDefault ? fallback : Lookup(item, attribute)).ToList();
        }

        if (arguments.Positional.Count == 0 || arguments.Positional[0] is not string filter)
        {
            throw new TemplateRuntimeError("map needs attribute= or a filter name");
        }

        var filterArguments = new CallArguments(arguments.Positional.Skip(1).ToList(), arguments.Keyword);
        return items.Select(item => Apply(interpreter, filter, item, filterArguments)).ToList();
    }
}
