namespace Brim.ChatTemplates.Jinja;

// The syntax tree of a template. Every node remembers where it starts so runtime errors can point at it.

internal abstract record Node(SourcePosition Position);

// ---- Statements ----

internal abstract record Statement(SourcePosition Position) : Node(Position);

/// <summary>Literal template text.</summary>
internal sealed record TextStatement(string Text, SourcePosition Position) : Statement(Position);

/// <summary><c>{{ expression }}</c></summary>
internal sealed record OutputStatement(Expression Value, SourcePosition Position) : Statement(Position);

/// <summary><c>{% if %}</c> with its <c>elif</c> branches folded into <see cref="Branches"/>.</summary>
internal sealed record IfStatement(
    IReadOnlyList<(Expression Condition, IReadOnlyList<Statement> Body)> Branches,
    IReadOnlyList<Statement> Else,
    SourcePosition Position) : Statement(Position);

/// <summary><c>{% for target in iterable if filter %} body {% else %} empty {% endfor %}</c></summary>
internal sealed record ForStatement(
    AssignTarget Target,
    Expression Iterable,
    Expression? Filter,
    IReadOnlyList<Statement> Body,
    IReadOnlyList<Statement> Else,
    SourcePosition Position) : Statement(Position);

/// <summary><c>{% set target = value %}</c></summary>
internal sealed record SetStatement(AssignTarget Target, Expression Value, SourcePosition Position) : Statement(Position);

/// <summary><c>{% set name %} body {% endset %}</c>: the rendered body becomes the value.</summary>
internal sealed record SetBlockStatement(string Name, IReadOnlyList<Statement> Body, SourcePosition Position) : Statement(Position);

/// <summary><c>{% macro name(a, b=default) %} body {% endmacro %}</c></summary>
internal sealed record MacroStatement(
    string Name,
    IReadOnlyList<(string Name, Expression? Default)> Parameters,
    IReadOnlyList<Statement> Body,
    SourcePosition Position) : Statement(Position);

/// <summary><c>{% break %}</c> or <c>{% continue %}</c> (Jinja's loopcontrols extension, which HF enables).</summary>
internal sealed record LoopControlStatement(bool IsBreak, SourcePosition Position) : Statement(Position);

/// <summary>Statements that only group others, such as the body of <c>{% generation %}</c>.</summary>
internal sealed record BlockStatement(IReadOnlyList<Statement> Body, SourcePosition Position) : Statement(Position);

/// <summary>What a <c>set</c> or <c>for</c> assigns to: a name, a namespace attribute, or a tuple of names.</summary>
internal abstract record AssignTarget(SourcePosition Position);

internal sealed record NameTarget(string Name, SourcePosition Position) : AssignTarget(Position);

internal sealed record AttributeTarget(string Object, string Attribute, SourcePosition Position) : AssignTarget(Position);

internal sealed record TupleTarget(IReadOnlyList<string> Names, SourcePosition Position) : AssignTarget(Position);

// ---- Expressions ----

internal abstract record Expression(SourcePosition Position) : Node(Position);

/// <summary>A string, number, boolean or none literal.</summary>
internal sealed record LiteralExpression(object? Value, SourcePosition Position) : Expression(Position);

internal sealed record NameExpression(string Name, SourcePosition Position) : Expression(Position);

internal sealed record ListExpression(IReadOnlyList<Expression> Items, SourcePosition Position) : Expression(Position);

internal sealed record DictExpression(
    IReadOnlyList<(Expression Key, Expression Value)> Entries,
    SourcePosition Position) : Expression(Position);

/// <summary><c>obj.name</c>: attribute first, then item (Jinja's getattr).</summary>
internal sealed record AttributeExpression(Expression Object, string Name, SourcePosition Position) : Expression(Position);

/// <summary><c>obj[key]</c>: item first, then attribute (Jinja's getitem).</summary>
internal sealed record ItemExpression(Expression Object, Expression Key, SourcePosition Position) : Expression(Position);

/// <summary><c>obj[start:stop:step]</c>, each part optional.</summary>
internal sealed record SliceExpression(
    Expression Object,
    Expression? Start,
    Expression? Stop,
    Expression? Step,
    SourcePosition Position) : Expression(Position);

internal sealed record Arguments(IReadOnlyList<Expression> Positional, IReadOnlyList<(string Name, Expression Value)> Keyword)
{
    public static readonly Arguments None = new([], []);
}

internal sealed record CallExpression(Expression Callee, Arguments Arguments, SourcePosition Position) : Expression(Position);

/// <summary><c>operand | name(args)</c></summary>
internal sealed record FilterExpression(Expression Operand, string Name, Arguments Arguments, SourcePosition Position)
    : Expression(Position);

/// <summary><c>operand is [not] name(args)</c></summary>
internal sealed record TestExpression(Expression Operand, string Name, Arguments Arguments, bool Negated, SourcePosition Position)
    : Expression(Position);

/// <summary>Arithmetic, <c>~</c> concatenation: <c>+ - * / // % ** ~</c>.</summary>
internal sealed record BinaryExpression(string Operator, Expression Left, Expression Right, SourcePosition Position)
    : Expression(Position);

/// <summary>Unary <c>-</c> or <c>+</c>.</summary>
internal sealed record UnaryExpression(string Operator, Expression Operand, SourcePosition Position) : Expression(Position);

internal sealed record NotExpression(Expression Operand, SourcePosition Position) : Expression(Position);

/// <summary><c>and</c> / <c>or</c>, short-circuiting and returning an operand as Python does.</summary>
internal sealed record LogicalExpression(bool IsAnd, Expression Left, Expression Right, SourcePosition Position)
    : Expression(Position);

/// <summary>A comparison chain <c>a op1 b op2 c</c> (<c>== != &lt; &lt;= &gt; &gt;= in, not in</c>).</summary>
internal sealed record CompareExpression(
    Expression First,
    IReadOnlyList<(string Operator, Expression Operand)> Rest,
    SourcePosition Position) : Expression(Position);

/// <summary><c>then if condition else otherwise</c>; a missing else yields undefined.</summary>
internal sealed record ConditionalExpression(
    Expression Condition,
    Expression Then,
    Expression? Otherwise,
    SourcePosition Position) : Expression(Position);
