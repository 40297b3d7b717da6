using System.Text.RegularExpressions;

namespace Brim.Cli.Tests.Newcomer;

/// <summary>What a .NET stack trace looks like in a process's output: a user must never see one.</summary>
internal static partial class StackTraces
{
    public static bool In(string text) => text.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase) || FrameLine().IsMatch(text);

    [GeneratedRegex(@"^\s+at \S+\.\S+\(", RegexOptions.Multiline)]
    private static partial Regex FrameLine();
}
