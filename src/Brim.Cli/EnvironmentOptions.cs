namespace Brim.Cli;

/// <summary>
/// BRIM_MODEL, BRIM_DEVICE, BRIM_API_KEY, BRIM_HOST and BRIM_PORT stand for their options where the command line does
/// not give them (a flag always wins). They are added to the arguments before parsing, so a bad value is refused by
/// the option's own parser, with the variable named beside the message.
/// </summary>
internal static class EnvironmentOptions
{
    private static readonly (string Variable, string[] Aliases, string[] Commands)[] Map =
    [
        ("BRIM_MODEL", ["--model", "-m"], ["serve", "generate", "bench"]),
        ("BRIM_DEVICE", ["--device"], ["serve", "generate", "bench"]),
        ("BRIM_API_KEY", ["--api-key"], ["serve"]),
        ("BRIM_HOST", ["--host"], ["serve"]),
        ("BRIM_PORT", ["--port", "-p"], ["serve"]),
    ];

    /// <summary>The arguments with the variables' options appended, and which variables were used.</summary>
    public static (string[] Args, IReadOnlyList<string> Used) Apply(string[] args, Func<string, string?> environment)
    {
        if (args.Length == 0 || args.Contains("--"))
        {
            return (args, []);
        }

        var result = args.ToList();
        var used = new List<string>();
        foreach (var (variable, aliases, commands) in Map)
        {
            var given = args.Any(a => aliases.Any(alias => a == alias || a.StartsWith(alias + "=", StringComparison.Ordinal)));
            if (!given && commands.Contains(args[0]) && environment(variable) is { Length: > 0 } value)
            {
                result.Add(aliases[0]);
                result.Add(value);
                used.Add(variable);
            }
        }

        return ([.. result], used);
    }
}
