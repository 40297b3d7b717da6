namespace Brim.ChatTemplates.Jinja;

internal sealed partial class Interpreter
{
    /// <summary>
    /// Evaluates an expression. A <see cref="TemplateRuntimeError"/> raised while evaluating this node (and not
    /// already placed by a child) becomes a <see cref="ChatTemplateException"/> pointing at this node.
    /// </summary>
    public object? Evaluate(Expression expression, Scope scope)
    {
        try
        {
            return EvaluateCore(expression, scope);
        }
        catch (TemplateRuntimeError error)
        {
            throw ChatTemplateException.At(expression.Position, error.Message);
        }
        catch (TemplateRaisedError raised)
        {
            throw new ChatTemplateException(
                raised.Message, expression.Position.Line, expression.Position.Column, raisedByTemplate: true);
        }
    }

    private object? EvaluateCore(Expression expression, Scope scope)
    {
        switch (expression)
        {
            case LiteralExpression literal:
                return literal.Value;
            case NameExpression name:
                return scope.TryGet(name.Name, out object? value) ? value : new Undefined($"'{name.Name}' is undefined");
            case ListExpression list:
                return list.Items.Select(item => Evaluate(item, scope)).ToList();
            case DictExpression dict:
                var result = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (keyExpression, valueExpression) in dict.Entries)
                {
                    object? key = Evaluate(keyExpression, scope);
                    result[key as string ?? throw new TemplateRuntimeError($"dictionary keys must be strings, got '{ValueOps.TypeName(key)}'")]
                        = Evaluate(valueExpression, scope);
                }

                return result;
            case AttributeExpression attribute:
                return Members.GetAttribute(Evaluate(attribute.Object, scope), attribute.Name);
            case ItemExpression item:
                return Members.GetItem(Evaluate(item.Object, scope), Evaluate(item.Key, scope));
            case SliceExpression slice:
                return Members.Slice(
                    Evaluate(slice.Object, scope),
                    EvaluateOptional(slice.Start, scope),
                    EvaluateOptional(slice.Stop, scope),
                    EvaluateOptional(slice.Step, scope));
            case CallExpression call:
                return Call(Evaluate(call.Callee, scope), EvaluateArguments(call.Arguments, scope));
            case FilterExpression filter:
                return Filters.Apply(this, filter.Name, Evaluate(filter.Operand, scope), EvaluateArguments(filter.Arguments, scope));
            case TestExpression test:
                bool passed = Tests.Apply(test.Name, Evaluate(test.Operand, scope), EvaluateArguments(test.Arguments, scope));
                return passed != test.Negated;
            case BinaryExpression binary:
                return Operators.Binary(binary.Operator, Evaluate(binary.Left, scope), Evaluate(binary.Right, scope), _budget);
            case UnaryExpression unary:
                return Operators.Unary(unary.Operator, Evaluate(unary.Operand, scope));
            case NotExpression not:
                return !ValueOps.IsTruthy(Evaluate(not.Operand, scope));
            case LogicalExpression logical:
                object? left = Evaluate(logical.Left, scope);
                return ValueOps.IsTruthy(left) == logical.IsAnd ? Evaluate(logical.Right, scope) : left;
            case CompareExpression compare:
                return EvaluateCompare(compare, scope);
            case ConditionalExpression conditional:
                return ValueOps.IsTruthy(Evaluate(conditional.Condition, scope)) ? Evaluate(conditional.Then, scope)
                    : conditional.Otherwise is null ? new Undefined("the conditional expression has no else branch")
                    : Evaluate(conditional.Otherwise, scope);
            default:
                throw new InvalidOperationException($"unknown expression {expression.GetType().Name}");
        }
    }

    private object? EvaluateOptional(Expression? expression, Scope scope) =>
        expression is null ? null : Evaluate(expression, scope);

    private bool EvaluateCompare(CompareExpression compare, Scope scope)
    {
        object? left = Evaluate(compare.First, scope);
        foreach (var (op, operand) in compare.Rest)
        {
            object? right = Evaluate(operand, scope);
            bool holds = op switch
            {
                "==" => ValueOps.AreEqual(left, right),
                "!=" => !ValueOps.AreEqual(left, right),
                "in" => ValueOps.Contains(right, left),
                "not in" => !ValueOps.Contains(right, left),
                "<" => ValueOps.Compare(left, right) < 0,
                "<=" => ValueOps.Compare(left, right) <= 0,
                ">" => ValueOps.Compare(left, right) > 0,
                ">=" => ValueOps.Compare(left, right) >= 0,
                _ => throw new TemplateRuntimeError($"unknown comparison '{op}'"),
            };
            if (!holds)
            {
                return false;
            }

            left = right;
        }

        return true;
    }

    private CallArguments EvaluateArguments(Arguments arguments, Scope scope)
    {
        if (arguments.Positional.Count == 0 && arguments.Keyword.Count == 0)
        {
            return CallArguments.Empty;
        }

        var positional = arguments.Positional.Select(argument => Evaluate(argument, scope)).ToList();
        var keyword = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in arguments.Keyword)
        {
            keyword[name] = Evaluate(value, scope);
        }

        return new CallArguments(positional, keyword);
    }

    private static object? Call(object? callee, CallArguments arguments) => callee switch
    {
        Callable callable => callable.Invoke(arguments),
        Undefined undefined => throw new TemplateRuntimeError(undefined.Description),
        _ => throw new TemplateRuntimeError($"'{ValueOps.TypeName(callee)}' object is not callable"),
    };
}
