using System.Globalization;

namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// Expression grammar, lowest precedence first, as in Jinja:
/// conditional (<c>a if c else b</c>) → or → and → not → comparison (<c>== != &lt; &gt; in, not in</c>)
/// → <c>+ -</c> → <c>~</c> → <c>* / // %</c> → <c>**</c> → unary <c>- +</c> → primary with postfix
/// (<c>.name</c>, <c>[key]</c>, <c>[a:b:c]</c>, <c>(args)</c>) followed by filters <c>|f</c> and tests <c>is t</c>.
/// Filters therefore bind tighter than arithmetic: <c>'a' + x | trim</c> trims only <c>x</c>.
/// </summary>
internal sealed partial class Parser
{
    private static readonly HashSet<string> CompareOperators = ["==", "!=", "<", "<=", ">", ">="];

    private Expression ParseExpression()
    {
        EnterNesting();
        Expression result = ParseConditional();
        _nesting--;
        return result;
    }

    private void EnterNesting()
    {
        if (++_nesting > MaxNesting)
        {
            throw Error(Current, $"expression is nested more than {MaxNesting} deep");
        }
    }

    private Expression ParseConditional()
    {
        Expression result = ParseOr();
        while (Current.IsName("if"))
        {
            Next();
            Expression condition = ParseOr();
            Expression? otherwise = null;
            if (Current.IsName("else"))
            {
                Next();
                otherwise = ParseConditional();
            }

            result = new ConditionalExpression(condition, result, otherwise, result.Position);
        }

        return result;
    }

    private Expression ParseOr()
    {
        Expression left = ParseAnd();
        while (Current.IsName("or"))
        {
            Next();
            left = new LogicalExpression(false, left, ParseAnd(), left.Position);
        }

        return left;
    }

    private Expression ParseAnd()
    {
        Expression left = ParseNot();
        while (Current.IsName("and"))
        {
            Next();
            left = new LogicalExpression(true, left, ParseNot(), left.Position);
        }

        return left;
    }

    private Expression ParseNot()
    {
        if (Current.IsName("not"))
        {
            Token not = Next();
            EnterNesting();
            Expression operand = ParseNot();
            _nesting--;
            return new NotExpression(operand, not.Position);
        }

        return ParseCompare();
    }

    private Expression ParseCompare()
    {
        Expression first = ParseAdditive();
        var rest = new List<(string, Expression)>();
        while (true)
        {
            string op;
            if (Current.Kind == TokenKind.Operator && CompareOperators.Contains(Current.Value))
            {
                op = Next().Value;
            }
            else if (Current.IsName("in"))
            {
                Next();
                op = "in";
            }
            else if (Current.IsName("not") && Peek().IsName("in"))
            {
                Next();
                Next();
                op = "not in";
            }
            else
            {
                break;
            }

            rest.Add((op, ParseAdditive()));
        }

        return rest.Count == 0 ? first : new CompareExpression(first, rest, first.Position);
    }

    private Expression ParseAdditive()
    {
        Expression left = ParseConcat();
        while (Current.IsOperator("+") || Current.IsOperator("-"))
        {
            string op = Next().Value;
            left = new BinaryExpression(op, left, ParseConcat(), left.Position);
        }

        return left;
    }

    private Expression ParseConcat()
    {
        Expression left = ParseMultiplicative();
        while (Current.IsOperator("~"))
        {
            Next();
            left = new BinaryExpression("~", left, ParseMultiplicative(), left.Position);
        }

        return left;
    }

    private Expression ParseMultiplicative()
    {
        Expression left = ParsePower();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            string op = Next().Value;
            left = new BinaryExpression(op, left, ParsePower(), left.Position);
        }

        return left;
    }

    private Expression ParsePower()
    {
        Expression left = ParseUnary(withFilters: true);
        while (Current.IsOperator("**"))
        {
            Next();
            left = new BinaryExpression("**", left, ParseUnary(withFilters: true), left.Position);
        }

        return left;
    }

    private Expression ParseUnary(bool withFilters)
    {
        Expression result;
        if (Current.IsOperator("-") || Current.IsOperator("+"))
        {
            Token op = Next();
            EnterNesting();
            result = new UnaryExpression(op.Value, ParseUnary(withFilters: false), op.Position);
            _nesting--;
        }
        else
        {
            result = ParsePostfix(ParsePrimary());
        }

        return withFilters ? ParseFiltersAndTests(result) : result;
    }

    private Expression ParsePrimary()
    {
        Token token = Next();
        switch (token.Kind)
        {
            case TokenKind.Name:
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpression(true, token.Position),
                    "false" or "False" => new LiteralExpression(false, token.Position),
                    "none" or "None" => new LiteralExpression(null, token.Position),
                    _ => new NameExpression(token.Value, token.Position),
                };
            case TokenKind.String:
                string text = token.Value;
                while (Current.Kind == TokenKind.String)
                {
                    text += Next().Value; // adjacent literals concatenate, as in Python
                }

                return new LiteralExpression(text, token.Position);
            case TokenKind.Integer:
                return long.TryParse(token.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long integer)
                    ? new LiteralExpression(integer, token.Position)
                    : throw Error(token, $"integer literal {token.Value} is too large");
            case TokenKind.Float:
                return new LiteralExpression(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Position);
            case TokenKind.Operator when token.Value == "(":
                return ParseParenthesized(token);
            case TokenKind.Operator when token.Value == "[":
                return new ListExpression(ParseSequence("]"), token.Position);
            case TokenKind.Operator when token.Value == "{":
                return ParseDict(token);
            default:
                throw Error(token, $"expected an expression, got {token.Describe()}");
        }
    }

    private Expression ParseParenthesized(Token open)
    {
        if (Current.IsOperator(")"))
        {
            Next();
            return new ListExpression([], open.Position); // the empty tuple
        }

        Expression first = ParseExpression();
        if (!Current.IsOperator(","))
        {
            ExpectOperator(")");
            return first;
        }

        // A tuple; it behaves like a list here.
        var items = new List<Expression> { first };
        while (Current.IsOperator(","))
        {
            Next();
            if (Current.IsOperator(")"))
            {
                break;
            }

            items.Add(ParseExpression());
        }

        ExpectOperator(")");
        return new ListExpression(items, open.Position);
    }

    private List<Expression> ParseSequence(string close)
    {
        var items = new List<Expression>();
        while (!Current.IsOperator(close))
        {
            if (items.Count > 0)
            {
                ExpectOperator(",");
                if (Current.IsOperator(close))
                {
                    break; // trailing comma
                }
            }

            items.Add(ParseExpression());
        }

        Next();
        return items;
    }

    private DictExpression ParseDict(Token open)
    {
        var entries = new List<(Expression, Expression)>();
        while (!Current.IsOperator("}"))
        {
            if (entries.Count > 0)
            {
                ExpectOperator(",");
                if (Current.IsOperator("}"))
                {
                    break;
                }
            }

            Expression key = ParseExpression();
            ExpectOperator(":");
            entries.Add((key, ParseExpression()));
        }

        Next();
        return new DictExpression(entries, open.Position);
    }

    private Expression ParsePostfix(Expression target)
    {
        while (true)
        {
            if (Current.IsOperator("."))
            {
                Token dot = Next();
                Token name = Next();
                target = name.Kind switch
                {
                    TokenKind.Name => new AttributeExpression(target, name.Value, dot.Position),
                    TokenKind.Integer => new ItemExpression(target, new LiteralExpression(long.Parse(name.Value, CultureInfo.InvariantCulture), name.Position), dot.Position),
                    _ => throw Error(name, $"expected an attribute name after '.', got {name.Describe()}"),
                };
            }
            else if (Current.IsOperator("["))
            {
                target = ParseSubscript(target, Next());
            }
            else if (Current.IsOperator("("))
            {
                Token open = Next();
                target = new CallExpression(target, ParseArguments(), open.Position);
            }
            else
            {
                return target;
            }
        }
    }

    private Expression ParseSubscript(Expression target, Token open)
    {
        Expression? start = Current.IsOperator(":") ? null : ParseExpression();
        if (!Current.IsOperator(":"))
        {
            ExpectOperator("]");
            return new ItemExpression(target, start!, open.Position);
        }

        Next();
        Expression? stop = Current.IsOperator(":") || Current.IsOperator("]") ? null : ParseExpression();
        Expression? step = null;
        if (Current.IsOperator(":"))
        {
            Next();
            step = Current.IsOperator("]") ? null : ParseExpression();
        }

        ExpectOperator("]");
        return new SliceExpression(target, start, stop, step, open.Position);
    }

    /// <summary>Parses call arguments after the opening parenthesis, through the closing one.</summary>
    private Arguments ParseArguments()
    {
        var positional = new List<Expression>();
        var keyword = new List<(string, Expression)>();
        while (!Current.IsOperator(")"))
        {
            if (positional.Count + keyword.Count > 0)
            {
                ExpectOperator(",");
                if (Current.IsOperator(")"))
                {
                    break;
                }
            }

            if (Current.Kind == TokenKind.Name && Peek().IsOperator("="))
            {
                string name = Next().Value;
                Next();
                keyword.Add((name, ParseExpression()));
            }
            else if (keyword.Count > 0)
            {
                throw Error(Current, "positional argument follows keyword argument");
            }
            else
            {
                positional.Add(ParseExpression());
            }
        }

        Next();
        return new Arguments(positional, keyword);
    }

    private Expression ParseFiltersAndTests(Expression target)
    {
        while (true)
        {
            if (Current.IsOperator("|"))
            {
                Token pipe = Next();
                string name = ParseDottedName();
                Arguments arguments = Arguments.None;
                if (Current.IsOperator("("))
                {
                    Next();
                    arguments = ParseArguments();
                }

                target = new FilterExpression(target, name, arguments, pipe.Position);
            }
            else if (Current.IsName("is"))
            {
                Token @is = Next();
                bool negated = false;
                if (Current.IsName("not"))
                {
                    Next();
                    negated = true;
                }

                string name = ParseDottedName();
                Arguments arguments = Arguments.None;
                if (Current.IsOperator("("))
                {
                    Next();
                    arguments = ParseArguments();
                }
                else if (StartsTestArgument(Current))
                {
                    // `x is divisibleby 3`, `x is sameas none`: one argument without parentheses.
                    arguments = new Arguments([ParsePostfix(ParsePrimary())], []);
                }

                target = new TestExpression(target, name, arguments, negated, @is.Position);
            }
            else if (Current.IsOperator("("))
            {
                Token open = Next();
                target = new CallExpression(target, ParseArguments(), open.Position);
            }
            else
            {
                return target;
            }
        }
    }

    private static bool StartsTestArgument(Token token) => token.Kind switch
    {
        TokenKind.Name => token.Value is not ("else" or "or" or "and" or "if" or "in" or "not" or "is"),
        TokenKind.String or TokenKind.Integer or TokenKind.Float => true,
        TokenKind.Operator => token.Value is "[" or "{",
        _ => false,
    };

    private string ParseDottedName()
    {
        string name = ExpectName().Value;
        while (Current.IsOperator(".") && Peek().Kind == TokenKind.Name)
        {
            Next();
            name += "." + Next().Value;
        }

        return name;
    }
}
