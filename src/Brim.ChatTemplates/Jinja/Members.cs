using System.Text;

namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// Attribute access (<c>a.b</c>), item access (<c>a[b]</c>), slicing, and the Python methods templates call on
/// strings, dicts and lists.
/// </summary>
internal static class Members
{
    private static readonly HashSet<string> DictMethods = ["items", "keys", "values", "get"];
    private static readonly HashSet<string> ListMethods = ["append", "index", "count"];

    /// <summary><c>obj.name</c>: Python attribute (method) first, then the item of that name, as Jinja's getattr.</summary>
    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Undefined undefined:
                throw new TemplateRuntimeError(undefined.Description);
            case OrderedDictionary<string, object?> dict:
                if (DictMethods.Contains(name))
                {
                    return BindDictMethod(dict, name);
                }

                return dict.TryGetValue(name, out object? value) ? value : NoAttribute(target, name);
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out object? attribute) ? attribute : NoAttribute(target, name);
            case string s when StringMethods.Has(name):
                return new Callable(name, arguments => StringMethods.Invoke(s, name, arguments));
            case List<object?> list when ListMethods.Contains(name):
                return BindListMethod(list, name);
            default:
                return NoAttribute(target, name);
        }
    }

    /// <summary><c>obj[key]</c>: the item first, then a Python attribute of that name, as Jinja's getitem.</summary>
    public static object? GetItem(object? target, object? key)
    {
        switch (target)
        {
            case Undefined undefined:
                throw new TemplateRuntimeError(undefined.Description);
            case OrderedDictionary<string, object?> dict when key is string name:
                return dict.TryGetValue(name, out object? value) ? value : GetAttribute(target, name);
            case List<object?> list when key is long or bool:
                long index = key is bool b ? (b ? 1 : 0) : (long)key;
                long at = index < 0 ? index + list.Count : index;
                return at >= 0 && at < list.Count ? list[(int)at]
                    : new Undefined($"list index {index} is out of range (the list has {list.Count} items)");
            case string s when key is long position:
                string[] characters = Characters(s);
                long where = position < 0 ? position + characters.Length : position;
                return where >= 0 && where < characters.Length ? characters[where]
                    : new Undefined($"string index {position} is out of range");
            case not null when key is string attributeName:
                return GetAttribute(target, attributeName);
            default:
                return new Undefined($"'{ValueOps.TypeName(target)} object' has no item {ValueOps.Repr(key, 0)}");
        }
    }

    /// <summary>Python slicing <c>obj[start:stop:step]</c> of a list or string; missing parts are null.</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        if (target is Undefined undefined)
        {
            throw new TemplateRuntimeError(undefined.Description);
        }

        long stepValue = SliceBound(step) ?? 1;
        if (stepValue == 0)
        {
            throw new TemplateRuntimeError("slice step cannot be zero");
        }

        switch (target)
        {
            case List<object?> list:
                return SliceIndices(list.Count, SliceBound(start), SliceBound(stop), stepValue).Select(i => list[i]).ToList();
            case string s:
                string[] characters = Characters(s);
                var sb = new StringBuilder();
                foreach (int i in SliceIndices(characters.Length, SliceBound(start), SliceBound(stop), stepValue))
                {
                    sb.Append(characters[i]);
                }

                return sb.ToString();
            default:
                throw new TemplateRuntimeError($"'{ValueOps.TypeName(target)}' object is not subscriptable");
        }
    }

    private static long? SliceBound(object? value) => value switch
    {
        null or Undefined => null,
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new TemplateRuntimeError($"slice indices must be integers or None, not '{ValueOps.TypeName(value)}'"),
    };

    private static IEnumerable<int> SliceIndices(int length, long? start, long? stop, long step)
    {
        // Python's slice.indices(): clamp each bound into range, with defaults that depend on the step's sign.
        long Clamp(long? bound, long whenMissing, long low, long high)
        {
            if (bound is not { } value)
            {
                return whenMissing;
            }

            value = value < 0 ? value + length : value;
            return Math.Clamp(value, low, high);
        }

        if (step > 0)
        {
            long from = Clamp(start, 0, 0, length);
            long to = Clamp(stop, length, 0, length);
            for (long i = from; i < to; i += step)
            {
                yield return (int)i;
            }
        }
        else
        {
            long from = Clamp(start, length - 1, -1, length - 1);
            long to = Clamp(stop, -1, -1, length - 1);
            for (long i = from; i > to; i += step)
            {
                yield return (int)i;
            }
        }
    }

    /// <summary>A string as Python sees it: a sequence of code points.</summary>
    private static string[] Characters(string s)
    {
        var characters = new string[s.EnumerateRunes().Count()];
        int i = 0;
        foreach (Rune rune in s.EnumerateRunes())
        {
            characters[i++] = rune.ToString();
        }

        return characters;
    }

    private static Undefined NoAttribute(object? target, string name) =>
        new($"'{ValueOps.TypeName(target)} object' has no attribute '{name}'");

    private static Callable BindDictMethod(OrderedDictionary<string, object?> dict, string name) => new(name, arguments => name switch
    {
        "items" => dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
        "keys" => dict.Keys.Select(key => (object?)key).ToList(),
        "values" => dict.Values.ToList(),
        _ => arguments.Get(0, "key") is string key && dict.TryGetValue(key, out object? value) ? value : arguments.Get(1, "default"),
    });

    private static Callable BindListMethod(List<object?> list, string name) => new(name, arguments =>
    {
        object? item = arguments.Get(0, "value", new Undefined($"list.{name}() takes exactly one argument"));
        switch (name)
        {
            case "append":
                list.Add(item);
                return null;
            case "count":
                return (long)list.Count(element => ValueOps.AreEqual(element, item));
            default:
                int index = list.FindIndex(element => ValueOps.AreEqual(element, item));
                return index >= 0 ? (long)index : throw new TemplateRuntimeError($"{ValueOps.Repr(item, 0)} is not in list");
        }
    });
}
