using System.Text.RegularExpressions;

namespace Brim.Cli.Commands;

/// <summary>
/// One --model value of `brim serve`: <c>PATH</c>, or <c>NAME=PATH</c> to serve it under NAME. The text before the
/// first '=' is a name only when it looks like one (letters, digits, '.', '_', ':', '-'; no path separator), so a
/// path that itself contains '=' still reads as a path.
/// </summary>
internal readonly partial record struct ModelArgument(string? Name, string? Path)
{
    public static ModelArgument Parse(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0 && NamePattern().IsMatch(text[..equals]) && equals < text.Length - 1)
        {
            return new ModelArgument(text[..equals], text[(equals + 1)..]);
        }

        return new ModelArgument(null, text);
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]+$")]
    private static partial Regex NamePattern();
}
