using System.Globalization;
using System.Text;

namespace Brim.ChatTemplates.Jinja;

/// <summary>Python semantics of template values: truth, str(), repr(), equality, ordering, iteration.</summary>
internal static class ValueOps
{
    /// <summary>Containers nested deeper than this are refused when printed or compared (a list may contain itself).</summary>
    private const int MaxDepth = 64;

    public static bool IsTruthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        OrderedDictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        Undefined => "Undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        OrderedDictionary<string, object?> => "dict",
        Namespace => "Namespace",
        Callable => "function",
        _ => value.GetType().Name,
    };

    /// <summary>Python's <c>str(value)</c>, which is what <c>{{ value }}</c> prints.</summary>
    public static string ToStr(object? value) => value switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(value, 0),
    };

    /// <summary>Python's <c>repr(value)</c>, used for values inside printed containers.</summary>
    public static string Repr(object? value, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new TemplateRuntimeError($"value is nested more than {MaxDepth} deep");
        }

        switch (value)
        {
            case null: return "None";
            case Undefined: return "";
            case bool b: return b ? "True" : "False";
            case long l: return l.ToString(CultureInfo.InvariantCulture);
            case double d: return FormatFloat(d);
            case string s: return QuoteString(s);
            case List<object?> list:
                return "[" + string.Join(", ", list.Select(item => Repr(item, depth + 1))) + "]";
            case OrderedDictionary<string, object?> dict:
                return "{" + string.Join(", ", dict.Select(kv => QuoteString(kv.Key) + ": " + Repr(kv.Value, depth + 1))) + "}";
            case Namespace ns:
                return "<Namespace " + Repr(new OrderedDictionary<string, object?>(ns.Attributes), depth + 1) + ">";
            case Callable c: return $"<function {c.Name}>";
            default: return value.ToString() ?? "";
        }
    }

    /// <summary>Python's float repr: shortest round-trip digits, always with a '.' or an exponent.</summary>
    public static string FormatFloat(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }

        string text = value.ToString("R", CultureInfo.InvariantCulture);
        int e = text.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            // .NET writes 1E+16 / 1E-05; Python writes 1e+16 / 1e-05.
            string mantissa = text[..e];
            string exponent = text[(e + 1)..];
            char sign = exponent[0] == '-' ? '-' : '+';
            string digits = exponent.TrimStart('+', '-').TrimStart('0').PadLeft(2, '0');
            return mantissa + "e" + sign + digits;
        }

        return text.Contains('.', StringComparison.Ordinal) ? text : text + ".0";
    }

    private static string QuoteString(string s)
    {
        char quote = s.Contains('\'', StringComparison.Ordinal) && !s.Contains('"', StringComparison.Ordinal) ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2).Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote)
                    {
                        sb.Append('\\');
                    }

                    sb.Append(c);
                    break;
            }
        }

        return sb.Append(quote).ToString();
    }

    /// <summary>Python's <c>==</c>: numbers by value (booleans count as 0 and 1), containers element by element.</summary>
    public static bool AreEqual(object? left, object? right, int depth = 0)
    {
        if (depth > MaxDepth)
        {
            throw new TemplateRuntimeError($"value is nested more than {MaxDepth} deep");
        }

        if (TryGetNumber(left, out double a) && TryGetNumber(right, out double b))
        {
            return left is long l1 && right is long l2 ? l1 == l2 : a == b;
        }

        switch (left)
        {
            case null: return right is null;
            case Undefined: return right is Undefined;
            case string s: return right is string t && string.Equals(s, t, StringComparison.Ordinal);
            case List<object?> list:
                return right is List<object?> other && list.Count == other.Count
                    && list.Zip(other).All(pair => AreEqual(pair.First, pair.Second, depth + 1));
            case OrderedDictionary<string, object?> dict:
                if (right is not OrderedDictionary<string, object?> otherDict || dict.Count != otherDict.Count)
                {
                    return false;
                }

                foreach (var (key, value) in dict)
                {
                    if (!otherDict.TryGetValue(key, out object? otherValue) || !AreEqual(value, otherValue, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            default: return ReferenceEquals(left, right);
        }
    }

    /// <summary>Python's ordering for <c>&lt;</c> and friends: numbers with numbers, strings with strings, lists element-wise.</summary>
    public static int Compare(object? left, object? right)
    {
        if (TryGetNumber(left, out double a) && TryGetNumber(right, out double b))
        {
            return left is long l1 && right is long l2 ? l1.CompareTo(l2) : a.CompareTo(b);
        }

        if (left is string s && right is string t)
        {
            return string.CompareOrdinal(s, t);
        }

        if (left is List<object?> x && right is List<object?> y)
        {
            for (int i = 0; i < Math.Min(x.Count, y.Count); i++)
            {
                if (!AreEqual(x[i], y[i]))
                {
                    return Compare(x[i], y[i]);
                }
            }

            return x.Count.CompareTo(y.Count);
        }

        throw new TemplateRuntimeError($"'<' not supported between instances of '{TypeName(left)}' and '{TypeName(right)}'");
    }

    public static bool TryGetNumber(object? value, out double number)
    {
        switch (value)
        {
            case long l: number = l; return true;
            case double d: number = d; return true;
            case bool b: number = b ? 1 : 0; return true;
            default: number = 0; return false;
        }
    }

    /// <summary>Python's <c>in</c>: substring, list membership, or dictionary key.</summary>
    public static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string t ? s.Contains(t, StringComparison.Ordinal)
            : throw new TemplateRuntimeError($"'in <string>' requires string as left operand, not {TypeName(item)}"),
        List<object?> list => list.Any(element => AreEqual(element, item)),
        OrderedDictionary<string, object?> dict => item is string key && dict.ContainsKey(key),
        Namespace ns => item is string key && ns.Attributes.ContainsKey(key),
        Undefined => false,
        _ => throw new TemplateRuntimeError($"argument of type '{TypeName(container)}' is not iterable"),
    };

    /// <summary>What a <c>for</c> loop or a list filter walks over: list items, dict keys, string characters.</summary>
    public static List<object?> Iterate(object? value) => value switch
    {
        List<object?> list => list,
        OrderedDictionary<string, object?> dict => [.. dict.Keys],
        string s => [.. EnumerateCharacters(s)],
        Undefined => [],
        Namespace ns => [.. ns.Attributes.Keys],
        _ => throw new TemplateRuntimeError($"'{TypeName(value)}' object is not iterable"),
    };

    private static IEnumerable<object?> EnumerateCharacters(string s)
    {
        var runes = s.EnumerateRunes();
        foreach (Rune rune in runes)
        {
            yield return rune.ToString();
        }
    }

    /// <summary>Python's <c>len()</c>; strings count code points, not UTF-16 units.</summary>
    public static long Length(object? value) => value switch
    {
        string s => s.EnumerateRunes().Count(),
        List<object?> list => list.Count,
        OrderedDictionary<string, object?> dict => dict.Count,
        Namespace ns => ns.Attributes.Count,
        Undefined => 0,
        _ => throw new TemplateRuntimeError($"object of type '{TypeName(value)}' has no len()"),
    };
}
