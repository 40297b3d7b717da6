namespace Brim.ChatTemplates.Jinja;

internal enum TokenKind
{
    /// <summary>Literal template text, already trimmed by whitespace control.</summary>
    Text,

    /// <summary><c>{{</c></summary>
    VariableBegin,

    /// <summary><c>}}</c></summary>
    VariableEnd,

    /// <summary><c>{%</c></summary>
    BlockBegin,

    /// <summary><c>%}</c></summary>
    BlockEnd,
    Name,
    String,
    Integer,
    Float,

    /// <summary>Punctuation and operators; <see cref="Token.Value"/> holds the symbol.</summary>
    Operator,
    EndOfTemplate,
}

/// <summary>One lexical token; <see cref="Value"/> is the decoded text (string literals are unescaped).</summary>
internal readonly record struct Token(TokenKind Kind, string Value, SourcePosition Position)
{
    public bool IsOperator(string symbol) => Kind == TokenKind.Operator && Value == symbol;

    public bool IsName(string name) => Kind == TokenKind.Name && Value == name;

    public string Describe() => Kind switch
    {
        TokenKind.EndOfTemplate => "end of template",
        TokenKind.VariableEnd => "'}}'",
        TokenKind.BlockEnd => "'%}'",
        TokenKind.VariableBegin => "'{{'",
        TokenKind.BlockBegin => "'{%'",
        TokenKind.Text => "template text",
        TokenKind.String => $"string '{Value}'",
        _ => $"'{Value}'",
    };
}
