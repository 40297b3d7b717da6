using Brim.Core;

namespace Brim.Cli.Commands;

/// <summary>
/// Runs <see cref="SamplingParams.Validate"/> on what the command line gave, and reports a failure as a usage error
/// naming the option (--max-tokens) rather than the API field (max_tokens) or the property (MaxTokens).
/// </summary>
internal static class SamplingOptionCheck
{
    /// <summary>Null when the values are valid, else the one-line message.</summary>
    public static string? Problem(SamplingParams sampling)
    {
        try
        {
            sampling.Validate();
            return null;
        }
        catch (ArgumentException e)
        {
            return OptionWording(e);
        }
    }

    /// <summary>"temperature must be between 0 and 2" → "--temperature must be between 0 and 2".</summary>
    internal static string OptionWording(ArgumentException e)
    {
        var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
        var field = message.Split(' ', 2)[0];
        return field.All(c => char.IsAsciiLetterLower(c) || c == '_')
            ? "--" + field.Replace('_', '-') + message[field.Length..]
            : message;
    }
}
