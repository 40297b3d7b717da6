namespace Brim.ChatTemplates.Jinja;

/// <summary>Jinja's tests (<c>x is name</c>), with Python's type rules.</summary>
internal static class Tests
{
    public static bool Apply(string name, object? value, CallArguments arguments)
    {
        object? Argument() => arguments.Get(0, "other", new Undefined($"test '{name}' needs an argument"));

        return name switch
        {
            "defined" => value is not Undefined,
            "undefined" => value is Undefined,
            "none" => value is null,
            "boolean" => value is bool,
            "true" => value is true,
            "false" => value is false,
            "integer" => value is long,
            "float" => value is double,
            "number" => value is long or double or bool, // Python's bool is a number
            "string" => value is string,
            "mapping" => value is OrderedDictionary<string, object?>,
            "iterable" => value is string or List<object?> or OrderedDictionary<string, object?> or Undefined,
            "sequence" => value is string or List<object?> or OrderedDictionary<string, object?> or Undefined,
            "callable" => value is Callable,
            "odd" => Integer(value, name) % 2 != 0,
            "even" => Integer(value, name) % 2 == 0,
            "divisibleby" => Integer(value, name) % Integer(Argument(), name) == 0,
            "eq" or "equalto" or "==" => ValueOps.AreEqual(value, Argument()),
            "ne" or "!=" => !ValueOps.AreEqual(value, Argument()),
            "lt" or "lessthan" or "<" => ValueOps.Compare(value, Argument()) < 0,
            "le" or "<=" => ValueOps.Compare(value, Argument()) <= 0,
            "gt" or "greaterthan" or ">" => ValueOps.Compare(value, Argument()) > 0,
            "ge" or ">=" => ValueOps.Compare(value, Argument()) >= 0,
            "in" => ValueOps.Contains(Argument(), value),
            "sameas" => SameAs(value, Argument()),
            "lower" => value is string s && s == s.ToLowerInvariant(),
            "upper" => value is string u && u == u.ToUpperInvariant(),
            _ => throw new TemplateRuntimeError($"no test named '{name}'"),
        };
    }

    private static long Integer(object? value, string test) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new TemplateRuntimeError($"test '{test}' needs an integer, got '{ValueOps.TypeName(value)}'"),
    };

    private static bool SameAs(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y,
        _ => ReferenceEquals(a, b),
    };
}
