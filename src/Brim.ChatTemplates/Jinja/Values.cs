namespace Brim.ChatTemplates.Jinja;

// Runtime values. Templates see plain CLR values wherever one fits:
//   none → null, booleans → bool, integers → long, floats → double, strings → string,
//   lists and tuples → List<object?>, mappings → OrderedDictionary<string, object?> (insertion order is JSON order).
// The types below cover what has no CLR counterpart.

/// <summary>
/// Jinja's default <c>Undefined</c>: falsy, renders as empty, iterates as empty; using it in arithmetic or reading
/// an attribute of it is an error whose message says what was missing.
/// </summary>
internal sealed class Undefined
{
    public Undefined(string description) => Description = description;

    /// <summary>Why the value is undefined, e.g. <c>'foo' is undefined</c> or <c>'dict object' has no attribute 'x'</c>.</summary>
    public string Description { get; }

    public override string ToString() => "";
}

/// <summary>The object <c>namespace()</c> returns: the one value a loop body may assign attributes of.</summary>
internal sealed class Namespace
{
    public OrderedDictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>A callable value: a global function, a bound method of a value, or a macro.</summary>
internal sealed class Callable
{
    public Callable(string name, Func<CallArguments, object?> invoke)
    {
        Name = name;
        Invoke = invoke;
    }

    public string Name { get; }

    public Func<CallArguments, object?> Invoke { get; }
}

/// <summary>Evaluated arguments of a call, filter or test.</summary>
internal sealed class CallArguments
{
    public static readonly CallArguments Empty = new([], new Dictionary<string, object?>());

    public CallArguments(IReadOnlyList<object?> positional, IReadOnlyDictionary<string, object?> keyword)
    {
        Positional = positional;
        Keyword = keyword;
    }

    public IReadOnlyList<object?> Positional { get; }

    public IReadOnlyDictionary<string, object?> Keyword { get; }

    /// <summary>The argument at <paramref name="index"/> or named <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
    public object? Get(int index, string name, object? fallback = null)
    {
        if (index >= 0 && index < Positional.Count)
        {
            return Positional[index];
        }

        return Keyword.TryGetValue(name, out object? value) ? value : fallback;
    }

    public bool Has(int index, string name) => (index >= 0 && index < Positional.Count) || Keyword.ContainsKey(name);
}
