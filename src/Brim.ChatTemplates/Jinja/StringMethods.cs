using System.Globalization;
using System.Text;

namespace Brim.ChatTemplates.Jinja;

/// <summary>The Python <c>str</c> methods chat templates call, with Python's semantics.</summary>
internal static class StringMethods
{
    private static readonly HashSet<string> Names =
    [
        "upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith",
        "split", "replace", "join", "find", "count", "splitlines",
    ];

    public static bool Has(string name) => Names.Contains(name);

    public static object? Invoke(string s, string name, CallArguments arguments)
    {
        switch (name)
        {
            case "upper": return s.ToUpperInvariant();
            case "lower": return s.ToLowerInvariant();
            case "title": return Title(s);
            case "capitalize": return Capitalize(s);
            case "strip": return Strip(s, arguments.Get(0, "chars"), start: true, end: true);
            case "lstrip": return Strip(s, arguments.Get(0, "chars"), start: true, end: false);
            case "rstrip": return Strip(s, arguments.Get(0, "chars"), start: false, end: true);
            case "startswith": return Affixes(arguments.Get(0, "prefix")).Any(p => s.StartsWith(p, StringComparison.Ordinal));
            case "endswith": return Affixes(arguments.Get(0, "suffix")).Any(p => s.EndsWith(p, StringComparison.Ordinal));
            case "split": return Split(s, arguments.Get(0, "sep"), ToInteger(arguments.Get(1, "maxsplit", -1L)));
            case "splitlines": return s.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n').Select(line => (object?)line).ToList();
            case "replace":
                return Replace(s, RequireString(arguments.Get(0, "old"), "replace"), RequireString(arguments.Get(1, "new"), "replace"),
                    ToInteger(arguments.Get(2, "count", -1L)));
            case "join": return string.Join(s, ValueOps.Iterate(arguments.Get(0, "iterable")).Select(ValueOps.ToStr));
            case "find": return (long)s.IndexOf(RequireString(arguments.Get(0, "sub"), "find"), StringComparison.Ordinal);
            case "count":
                string sub = RequireString(arguments.Get(0, "sub"), "count");
                return sub.Length == 0 ? s.Length + 1L : (long)((s.Length - s.Replace(sub, "", StringComparison.Ordinal).Length) / sub.Length);
            default: throw new TemplateRuntimeError($"'str object' has no method '{name}'");
        }
    }

    /// <summary>Python's <c>str.title()</c>: each run of letters starts upper case and continues lower case.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousIsLetter = false;
        foreach (char c in s)
        {
            sb.Append(previousIsLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousIsLetter = char.IsLetter(c);
        }

        return sb.ToString();
    }

    /// <summary>Python's <c>str.capitalize()</c>: first character upper case, the rest lower case.</summary>
    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    public static string Strip(string s, object? chars, bool start, bool end)
    {
        if (chars is null or Undefined)
        {
            return start && end ? s.Trim() : start ? s.TrimStart() : s.TrimEnd();
        }

        char[] set = RequireString(chars, "strip").ToCharArray();
        return start && end ? s.Trim(set) : start ? s.TrimStart(set) : s.TrimEnd(set);
    }

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0)
        {
            return old.Length == 0 ? InsertBetweenCharacters(s, replacement) : s.Replace(old, replacement, StringComparison.Ordinal);
        }

        var sb = new StringBuilder();
        int position = 0;
        for (long done = 0; done < count; done++)
        {
            int found = s.IndexOf(old, position, StringComparison.Ordinal);
            if (found < 0 || (old.Length == 0 && found >= s.Length))
            {
                break;
            }

            sb.Append(s, position, found - position).Append(replacement);
            if (old.Length == 0)
            {
                sb.Append(s[found]);
                position = found + 1;
            }
            else
            {
                position = found + old.Length;
            }
        }

        return sb.Append(s, position, s.Length - position).ToString();
    }

    private static string InsertBetweenCharacters(string s, string separator)
    {
        var sb = new StringBuilder(separator);
        foreach (char c in s)
        {
            sb.Append(c).Append(separator);
        }

        return sb.ToString();
    }

    private static List<object?> Split(string s, object? separator, long maxSplit)
    {
        if (separator is null or Undefined)
        {
            // Runs of whitespace separate; leading and trailing whitespace yield no empty strings.
            var words = new List<object?>();
            int i = 0;
            while (i < s.Length)
            {
                while (i < s.Length && char.IsWhiteSpace(s[i]))
                {
                    i++;
                }

                if (i >= s.Length)
                {
                    break;
                }

                if (maxSplit >= 0 && words.Count == maxSplit)
                {
                    words.Add(s[i..].TrimEnd());
                    break;
                }

                int start = i;
                while (i < s.Length && !char.IsWhiteSpace(s[i]))
                {
                    i++;
                }

                words.Add(s[start..i]);
            }

            return words;
        }

        string sep = RequireString(separator, "split");
        if (sep.Length == 0)
        {
            throw new TemplateRuntimeError("empty separator");
        }

        int parts = maxSplit < 0 ? int.MaxValue : (int)Math.Min(maxSplit + 1, int.MaxValue);
        return s.Split(sep, parts).Select(part => (object?)part).ToList();
    }

    private static IEnumerable<string> Affixes(object? value) => value switch
    {
        string s => [s],
        List<object?> list => list.Select(item => RequireString(item, "startswith/endswith")),
        _ => throw new TemplateRuntimeError($"startswith/endswith first arg must be str or a tuple of str, not {ValueOps.TypeName(value)}"),
    };

    private static string RequireString(object? value, string method) =>
        value as string ?? throw new TemplateRuntimeError($"{method}() expects a string argument, got '{ValueOps.TypeName(value)}'");

    private static long ToInteger(object? value) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        null => -1,
        _ => throw new TemplateRuntimeError($"expected an integer, got '{ValueOps.TypeName(value)}'"),
    };

}
