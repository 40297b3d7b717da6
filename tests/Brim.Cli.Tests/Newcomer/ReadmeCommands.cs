using System.Text;
using System.Text.RegularExpressions;

namespace Brim.Cli.Tests.Newcomer;

/// <summary>
/// The `dotnet run --project src/Brim.Cli ...` command lines of README.md, as written: fenced code lines joined over
/// trailing backslashes, with the trailing `# comment` removed.
/// </summary>
internal static partial class ReadmeCommands
{
    public const string Prefix = "dotnet run --project src/Brim.Cli";

    public static IReadOnlyList<string> Read(string readmePath)
    {
        var commands = new List<string>();
        var inFence = false;
        var current = new StringBuilder();
        foreach (var raw in File.ReadLines(readmePath))
        {
            if (raw.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                current.Clear();
                continue;
            }

            if (!inFence)
            {
                continue;
            }

            var line = StripComment(raw).Trim();
            var continued = line.EndsWith('\\');
            current.Append(continued ? line[..^1].TrimEnd() + " " : line);
            if (!continued)
            {
                var command = current.ToString().Trim();
                current.Clear();
                if (command.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    commands.Add(Spaces().Replace(command, " "));
                }
            }
        }

        return commands;
    }

    /// <summary>The arguments after `--` (what brim itself receives), still shell-quoted.</summary>
    public static string BrimArguments(string command)
    {
        var dashes = command.IndexOf(" -- ", StringComparison.Ordinal);
        return dashes < 0 ? "" : command[(dashes + 4)..];
    }

    // A '#' starts a comment only outside quotes and after whitespace, as in the shell.
    private static string StripComment(string line)
    {
        var quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return line[..i];
            }
        }

        return line;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
