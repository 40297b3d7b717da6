namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// Variables visible at one point of a render. <c>for</c> bodies and macro calls get a child scope, so what they
/// <c>set</c> stays inside (Jinja's rule; <c>namespace()</c> is how templates carry state out of a loop).
/// <c>if</c> bodies share their parent's scope.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

    public bool TryGet(string name, out object? value)
    {
        for (Scope? scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out value))
            {
                return true;
            }
        }

        value = null;
        return false;
    }

    public void Set(string name, object? value) => _variables[name] = value;

    public Scope? Parent { get; } = parent;
}
