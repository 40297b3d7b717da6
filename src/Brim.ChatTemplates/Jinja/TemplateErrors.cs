namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// A runtime error without a position yet; the interpreter adds the position of the innermost expression it was
/// evaluating and rethrows it as <see cref="ChatTemplateException"/>.
/// </summary>
internal sealed class TemplateRuntimeError(string message) : Exception(message);

/// <summary>The template called <c>raise_exception(message)</c>; its message is passed on verbatim.</summary>
internal sealed class TemplateRaisedError(string message) : Exception(message);
