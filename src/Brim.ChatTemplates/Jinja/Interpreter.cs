using System.Text;

namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// Renders a parsed template: executes statements into a string builder and evaluates expressions with Python
/// semantics (see <see cref="ValueOps"/>). One instance renders once; it is not thread-safe.
/// </summary>
internal sealed partial class Interpreter
{
    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    private readonly RenderBudget _budget;

    public Interpreter(RenderBudget budget) => _budget = budget;

    internal RenderBudget Budget => _budget;

    public string Render(IReadOnlyList<Statement> template, Scope globals)
    {
        var output = new StringBuilder();
        ExecuteBody(template, new Scope(globals), output);
        return output.ToString();
    }

    private Flow ExecuteBody(IReadOnlyList<Statement> body, Scope scope, StringBuilder output)
    {
        foreach (Statement statement in body)
        {
            Flow flow;
            try
            {
                flow = Execute(statement, scope, output);
            }
            catch (TemplateRuntimeError error)
            {
                // Limits and assignment errors raised by the statement itself, not by one of its expressions.
                throw ChatTemplateException.At(statement.Position, error.Message);
            }

            if (flow != Flow.Normal)
            {
                return flow;
            }
        }

        return Flow.Normal;
    }

    private Flow Execute(Statement statement, Scope scope, StringBuilder output)
    {
        switch (statement)
        {
            case TextStatement text:
                Append(output, text.Text);
                return Flow.Normal;
            case OutputStatement print:
                object? value = Evaluate(print.Value, scope);
                if (value is not Undefined)
                {
                    Append(output, ValueOps.ToStr(value));
                }

                return Flow.Normal;
            case IfStatement conditional:
                foreach (var (condition, body) in conditional.Branches)
                {
                    if (ValueOps.IsTruthy(Evaluate(condition, scope)))
                    {
                        return ExecuteBody(body, scope, output);
                    }
                }

                return ExecuteBody(conditional.Else, scope, output);
            case ForStatement loop:
                ExecuteFor(loop, scope, output);
                return Flow.Normal;
            case SetStatement set:
                Assign(set.Target, Evaluate(set.Value, scope), scope);
                return Flow.Normal;
            case SetBlockStatement setBlock:
                var captured = new StringBuilder();
                ExecuteBody(setBlock.Body, scope, captured);
                scope.Set(setBlock.Name, captured.ToString());
                return Flow.Normal;
            case MacroStatement macro:
                scope.Set(macro.Name, DefineMacro(macro, scope));
                return Flow.Normal;
            case LoopControlStatement control:
                return control.IsBreak ? Flow.Break : Flow.Continue;
            case BlockStatement block:
                return ExecuteBody(block.Body, scope, output);
            default:
                throw new InvalidOperationException($"unknown statement {statement.GetType().Name}");
        }
    }

    private void Append(StringBuilder output, string text)
    {
        _budget.CheckSize((long)output.Length + text.Length);
        output.Append(text);
    }

    private void ExecuteFor(ForStatement loop, Scope scope, StringBuilder output)
    {
        object? iterable = Evaluate(loop.Iterable, scope);
        List<object?> source;
        try
        {
            source = ValueOps.Iterate(iterable);
        }
        catch (TemplateRuntimeError error)
        {
            throw ChatTemplateException.At(loop.Iterable.Position, error.Message);
        }

        var loopScope = new Scope(scope);

        // The inline filter runs before the loop so loop.length, loop.last etc. count only the kept items.
        List<object?> items = source;
        if (loop.Filter is not null)
        {
            items = [];
            foreach (object? item in source.ToArray())
            {
                _budget.CountIteration();
                Assign(loop.Target, item, loopScope);
                if (ValueOps.IsTruthy(Evaluate(loop.Filter, loopScope)))
                {
                    items.Add(item);
                }
            }
        }
        else
        {
            items = [.. source]; // the body may append to the list it walks; Python would then loop forever
        }

        if (items.Count == 0)
        {
            ExecuteBody(loop.Else, scope, output);
            return;
        }

        for (int i = 0; i < items.Count; i++)
        {
            _budget.CountIteration();
            loopScope.Set("loop", LoopVariable(items, i));
            Assign(loop.Target, items[i], loopScope);
            if (ExecuteBody(loop.Body, loopScope, output) == Flow.Break)
            {
                break;
            }
        }
    }

    private static OrderedDictionary<string, object?> LoopVariable(List<object?> items, int i) => new(StringComparer.Ordinal)
    {
        ["index"] = (long)(i + 1),
        ["index0"] = (long)i,
        ["revindex"] = (long)(items.Count - i),
        ["revindex0"] = (long)(items.Count - i - 1),
        ["first"] = i == 0,
        ["last"] = i == items.Count - 1,
        ["length"] = (long)items.Count,
        ["previtem"] = i > 0 ? items[i - 1] : new Undefined("there is no previous item"),
        ["nextitem"] = i < items.Count - 1 ? items[i + 1] : new Undefined("there is no next item"),
    };

    private void Assign(AssignTarget target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameTarget name:
                scope.Set(name.Name, value);
                break;
            case AttributeTarget attribute:
                if (!scope.TryGet(attribute.Object, out object? owner) || owner is not Namespace ns)
                {
                    throw ChatTemplateException.At(
                        attribute.Position, $"cannot assign attribute '{attribute.Attribute}' of '{attribute.Object}': only namespace() objects accept attribute assignment");
                }

                ns.Attributes[attribute.Attribute] = value;
                break;
            case TupleTarget tuple:
                List<object?> values;
                try
                {
                    values = ValueOps.Iterate(value);
                }
                catch (TemplateRuntimeError error)
                {
                    throw ChatTemplateException.At(tuple.Position, $"cannot unpack: {error.Message}");
                }

                if (values.Count != tuple.Names.Count)
                {
                    throw ChatTemplateException.At(
                        tuple.Position, $"cannot unpack {values.Count} values into {tuple.Names.Count} names");
                }

                for (int i = 0; i < values.Count; i++)
                {
                    scope.Set(tuple.Names[i], values[i]);
                }

                break;
        }
    }

    private Callable DefineMacro(MacroStatement macro, Scope definitionScope) => new(macro.Name, arguments =>
    {
        if (arguments.Positional.Count > macro.Parameters.Count)
        {
            throw new TemplateRuntimeError($"macro '{macro.Name}' takes not more than {macro.Parameters.Count} argument(s)");
        }

        var callScope = new Scope(definitionScope);
        for (int i = 0; i < macro.Parameters.Count; i++)
        {
            var (name, defaultValue) = macro.Parameters[i];
            object? value = arguments.Has(i, name) ? arguments.Get(i, name)
                : defaultValue is not null ? Evaluate(defaultValue, callScope)
                : new Undefined($"parameter '{name}' was not provided");
            callScope.Set(name, value);
        }

        foreach (string key in arguments.Keyword.Keys)
        {
            if (!macro.Parameters.Any(p => p.Name == key))
            {
                throw new TemplateRuntimeError($"macro '{macro.Name}' takes no keyword argument '{key}'");
            }
        }

        _budget.EnterCall();
        try
        {
            var output = new StringBuilder();
            ExecuteBody(macro.Body, callScope, output);
            return output.ToString();
        }
        finally
        {
            _budget.ExitCall();
        }
    });
}
