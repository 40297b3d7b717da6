using Brim.ChatTemplates.Jinja;

namespace Brim.ChatTemplates;

/// <summary>
/// Decides whether a template expects message content as a list of parts: it does when it loops over something
/// named <c>content</c> (<c>{% for part in message['content'] %}</c>), the signal vLLM uses too.
/// </summary>
internal static class ContentFormat
{
    public static bool ExpectsList(IReadOnlyList<Statement> template) => template.Any(LoopsOverContent);

    private static bool LoopsOverContent(Statement statement) => statement switch
    {
        ForStatement loop => IsContentAccess(loop.Iterable) || loop.Body.Any(LoopsOverContent) || loop.Else.Any(LoopsOverContent),
        IfStatement conditional => conditional.Branches.Any(b => b.Body.Any(LoopsOverContent)) || conditional.Else.Any(LoopsOverContent),
        SetBlockStatement set => set.Body.Any(LoopsOverContent),
        MacroStatement macro => macro.Body.Any(LoopsOverContent),
        BlockStatement block => block.Body.Any(LoopsOverContent),
        _ => false,
    };

    private static bool IsContentAccess(Expression expression) => expression switch
    {
        AttributeExpression { Name: "content" } => true,
        ItemExpression { Key: LiteralExpression { Value: "content" } } => true,
        FilterExpression filter => IsContentAccess(filter.Operand),
        _ => false,
    };
}
