using Brim.ChatTemplates.Jinja;

namespace Brim.ChatTemplates;

/// <summary>
/// A chat template could not be read, parsed or rendered. <see cref="Exception.Message"/> is the template's own
/// text when the template called <c>raise_exception(msg)</c> (see <see cref="RaisedByTemplate"/>); otherwise it
/// describes the problem and, where one is known, where in the template it happened.
/// </summary>
public sealed class ChatTemplateException : Exception
{
    public ChatTemplateException(string message)
        : base(message)
    {
    }

    public ChatTemplateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ChatTemplateException(string message, int? line, int? column, bool raisedByTemplate = false)
        : base(message)
    {
        Line = line;
        Column = column;
        RaisedByTemplate = raisedByTemplate;
    }

    /// <summary>1-based line in the template source where the problem is, when known.</summary>
    public int? Line { get; }

    /// <summary>1-based column in the template source where the problem is, when known.</summary>
    public int? Column { get; }

    /// <summary>True when the template itself refused the input through <c>raise_exception(msg)</c>.</summary>
    public bool RaisedByTemplate { get; }

    internal static ChatTemplateException At(SourcePosition position, string message) =>
        new($"{message} (line {position.Line}, column {position.Column})", position.Line, position.Column);
}
