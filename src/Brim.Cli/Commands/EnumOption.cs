using System.CommandLine;
using System.CommandLine.Parsing;

namespace Brim.Cli.Commands;

/// <summary>
/// An option over an enum that reads and shows the lower-case names (--device cpu, `&lt;auto|cpu|cuda&gt;` in the help)
/// and refuses another value naming the option and the choices, not the .NET type. The default is the enum's zero member
/// (Auto): with a DefaultValueFactory the help would print it a second time, in the .NET spelling.
/// </summary>
internal static class EnumOption
{
    public static Option<T> Create<T>(string name, string description, params string[] aliases)
        where T : struct, Enum
    {
        T defaultValue = default;
        var names = Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToArray();
        return new Option<T>(name, aliases)
        {
            Description = $"{description} [default: {defaultValue.ToString().ToLowerInvariant()}]",
            HelpName = string.Join('|', names),
            CustomParser = result => Parse(result, name, names, defaultValue),
        };
    }

    /// <summary>As <see cref="Create{T}"/> for a default other than the zero member: null when not given.</summary>
    public static Option<T?> CreateOptional<T>(string name, string description, T shownDefault)
        where T : struct, Enum
    {
        var names = Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToArray();
        return new Option<T?>(name)
        {
            Description = $"{description} [default: {shownDefault.ToString().ToLowerInvariant()}]",
            HelpName = string.Join('|', names),
            CustomParser = result => Parse(result, name, names, shownDefault),
        };
    }

    private static T Parse<T>(ArgumentResult result, string name, string[] names, T defaultValue)
        where T : struct, Enum
    {
        if (result.Tokens.Count == 0)
        {
            return defaultValue;
        }

        var text = result.Tokens[0].Value;

        // Only names: Enum.TryParse would also take "2" or "cpu,cuda".
        if (names.Contains(text.ToLowerInvariant()) && Enum.TryParse<T>(text, ignoreCase: true, out var value))
        {
            return value;
        }

        result.AddError($"{name} must be one of {string.Join(", ", names)}; got '{text}'");
        return defaultValue;
    }
}
