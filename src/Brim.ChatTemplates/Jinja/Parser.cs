namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// Builds the statement tree of a template from its tokens. Expressions are parsed by the partial
/// <c>Parser.Expressions.cs</c>, with Jinja's precedence.
/// </summary>
internal sealed partial class Parser
{
    /// <summary>Nesting deeper than this (blocks or expressions) is refused, so hostile input cannot overflow the stack.</summary>
    private const int MaxNesting = 100;

    private readonly List<Token> _tokens;
    private int _index;
    private int _nesting;

    private Parser(List<Token> tokens) => _tokens = tokens;

    public static IReadOnlyList<Statement> Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        var body = parser.ParseBody(out Token? endTag);
        if (endTag is { } stray)
        {
            throw Error(stray, $"unexpected '{stray.Value}' without an open block");
        }

        return body;
    }

    private Token Current => _tokens[_index];

    private Token Next() => _tokens[_index++];

    private Token Peek(int ahead = 1) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    /// <summary>
    /// Parses statements until end of template or a block tag whose name is an end or continuation keyword
    /// (endif, elif, else, endfor, ...). That tag's name token is returned in <paramref name="endTag"/> and left as
    /// the current token, with its <c>{%</c> consumed.
    /// </summary>
    private List<Statement> ParseBody(out Token? endTag)
    {
        var body = new List<Statement>();
        while (true)
        {
            Token token = Next();
            switch (token.Kind)
            {
                case TokenKind.EndOfTemplate:
                    _index--;
                    endTag = null;
                    return body;
                case TokenKind.Text:
                    body.Add(new TextStatement(token.Value, token.Position));
                    break;
                case TokenKind.VariableBegin:
                    body.Add(new OutputStatement(ParseExpression(), token.Position));
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    if (IsContinuationKeyword(Current))
                    {
                        endTag = Current;
                        return body;
                    }

                    body.Add(ParseStatement(token.Position));
                    break;
                default:
                    throw Error(token, $"unexpected {token.Describe()}");
            }
        }
    }

    private static bool IsContinuationKeyword(Token token) =>
        token.Kind == TokenKind.Name && (token.Value.StartsWith("end", StringComparison.Ordinal) || token.Value is "elif" or "else");

    /// <summary>Parses a body that must be closed by one of <paramref name="accepted"/>; returns which one did.</summary>
    private List<Statement> ParseBlockBody(Token opener, out string closedBy, params string[] accepted)
    {
        if (++_nesting > MaxNesting)
        {
            throw Error(opener, $"blocks are nested more than {MaxNesting} deep");
        }

        var body = ParseBody(out Token? endTag);
        _nesting--;
        if (endTag is not { } end)
        {
            throw Error(opener, $"unexpected end of template: '{opener.Value}' block opened at {opener.Position} "
                + $"is never closed (expected '{accepted[^1]}')");
        }

        if (Array.IndexOf(accepted, end.Value) < 0)
        {
            throw Error(end, $"unexpected '{end.Value}' inside '{opener.Value}' block opened at {opener.Position} "
                + $"(expected {string.Join(" or ", accepted.Select(a => $"'{a}'"))})");
        }

        Next();
        closedBy = end.Value;
        return body;
    }

    private Statement ParseStatement(SourcePosition position)
    {
        Token keyword = Next();
        if (keyword.Kind != TokenKind.Name)
        {
            throw Error(keyword, $"expected a statement name after '{{%', got {keyword.Describe()}");
        }

        switch (keyword.Value)
        {
            case "if":
                return ParseIf(keyword, position);
            case "for":
                return ParseFor(keyword, position);
            case "set":
                return ParseSet(keyword, position);
            case "macro":
                return ParseMacro(keyword, position);
            case "break":
            case "continue":
                Expect(TokenKind.BlockEnd);
                return new LoopControlStatement(keyword.Value == "break", position);
            case "generation":
                // HF's generation markers only tag assistant output for masks; rendering ignores them.
                Expect(TokenKind.BlockEnd);
                var body = ParseBlockBody(keyword, out _, "endgeneration");
                Expect(TokenKind.BlockEnd);
                return new BlockStatement(body, position);
            default:
                throw Error(keyword, $"unknown or unsupported tag '{keyword.Value}'");
        }
    }

    private IfStatement ParseIf(Token keyword, SourcePosition position)
    {
        var branches = new List<(Expression, IReadOnlyList<Statement>)>();
        List<Statement> otherwise = [];
        Expression condition = ParseExpression();
        while (true)
        {
            Expect(TokenKind.BlockEnd);
            var body = ParseBlockBody(keyword, out string closedBy, "elif", "else", "endif");
            branches.Add((condition, body));
            if (closedBy == "elif")
            {
                condition = ParseExpression();
                continue;
            }

            if (closedBy == "else")
            {
                Expect(TokenKind.BlockEnd);
                otherwise = ParseBlockBody(keyword, out _, "endif");
            }

            Expect(TokenKind.BlockEnd);
            return new IfStatement(branches, otherwise, position);
        }
    }

    private ForStatement ParseFor(Token keyword, SourcePosition position)
    {
        AssignTarget target = ParseAssignTarget(allowAttribute: false);
        ExpectName("in");
        // No conditional expression here: a trailing 'if' filters the loop instead.
        Expression iterable = ParseOr();
        Expression? filter = null;
        if (Current.IsName("if"))
        {
            Next();
            filter = ParseExpression();
        }

        if (Current.IsName("recursive"))
        {
            throw Error(Current, "recursive loops are not supported");
        }

        Expect(TokenKind.BlockEnd);
        var body = ParseBlockBody(keyword, out string closedBy, "else", "endfor");
        List<Statement> otherwise = [];
        if (closedBy == "else")
        {
            Expect(TokenKind.BlockEnd);
            otherwise = ParseBlockBody(keyword, out _, "endfor");
        }

        Expect(TokenKind.BlockEnd);
        return new ForStatement(target, iterable, filter, body, otherwise, position);
    }

    private Statement ParseSet(Token keyword, SourcePosition position)
    {
        AssignTarget target = ParseAssignTarget(allowAttribute: true);
        if (Current.IsOperator("="))
        {
            Next();
            Expression value = ParseExpression();
            Expect(TokenKind.BlockEnd);
            return new SetStatement(target, value, position);
        }

        if (target is not NameTarget name)
        {
            throw Error(Current, "a block set assigns to a single name");
        }

        Expect(TokenKind.BlockEnd);
        var body = ParseBlockBody(keyword, out _, "endset");
        Expect(TokenKind.BlockEnd);
        return new SetBlockStatement(name.Name, body, position);
    }

    private MacroStatement ParseMacro(Token keyword, SourcePosition position)
    {
        string name = ExpectName().Value;
        ExpectOperator("(");
        var parameters = new List<(string, Expression?)>();
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0)
            {
                ExpectOperator(",");
            }

            string parameter = ExpectName().Value;
            Expression? defaultValue = null;
            if (Current.IsOperator("="))
            {
                Next();
                defaultValue = ParseExpression();
            }

            parameters.Add((parameter, defaultValue));
        }

        Next();
        Expect(TokenKind.BlockEnd);
        var body = ParseBlockBody(keyword, out _, "endmacro");
        Expect(TokenKind.BlockEnd);
        return new MacroStatement(name, parameters, body, position);
    }

    private AssignTarget ParseAssignTarget(bool allowAttribute)
    {
        Token first = ExpectName();
        if (allowAttribute && Current.IsOperator("."))
        {
            Next();
            return new AttributeTarget(first.Value, ExpectName().Value, first.Position);
        }

        if (!Current.IsOperator(","))
        {
            return new NameTarget(first.Value, first.Position);
        }

        var names = new List<string> { first.Value };
        while (Current.IsOperator(","))
        {
            Next();
            names.Add(ExpectName().Value);
        }

        return new TupleTarget(names, first.Position);
    }

    private Token Expect(TokenKind kind)
    {
        Token token = Next();
        if (token.Kind != kind)
        {
            string expected = kind switch
            {
                TokenKind.BlockEnd => "'%}'",
                TokenKind.VariableEnd => "'}}'",
                _ => kind.ToString(),
            };
            throw Error(token, $"expected {expected}, got {token.Describe()}");
        }

        return token;
    }

    private Token ExpectName(string? name = null)
    {
        Token token = Next();
        if (token.Kind != TokenKind.Name || (name is not null && token.Value != name))
        {
            throw Error(token, $"expected {(name is null ? "a name" : $"'{name}'")}, got {token.Describe()}");
        }

        return token;
    }

    private Token ExpectOperator(string symbol)
    {
        Token token = Next();
        if (!token.IsOperator(symbol))
        {
            throw Error(token, $"expected '{symbol}', got {token.Describe()}");
        }

        return token;
    }

    private static ChatTemplateException Error(Token token, string message) =>
        ChatTemplateException.At(token.Position, "Syntax error: " + message);
}
