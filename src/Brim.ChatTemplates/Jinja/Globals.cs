namespace Brim.ChatTemplates.Jinja;

/// <summary>The functions a chat template can call: Jinja's <c>range</c>, <c>namespace</c>, <c>dict</c>, and HF's
/// <c>raise_exception</c> and <c>strftime_now</c>.</summary>
internal static class Globals
{
    public static void AddTo(Scope scope, DateTimeOffset now, RenderBudget budget)
    {
        scope.Set("raise_exception", new Callable("raise_exception", arguments =>
            throw new TemplateRaisedError(ValueOps.ToStr(arguments.Get(0, "message")))));
        scope.Set("strftime_now", new Callable("strftime_now", arguments =>
            Strftime.Format(now, arguments.Get(0, "format") as string
                ?? throw new TemplateRuntimeError("strftime_now() expects a format string"))));
        scope.Set("range", new Callable("range", arguments => Range(arguments, budget)));
        scope.Set("namespace", new Callable("namespace", Namespace));
        scope.Set("dict", new Callable("dict", arguments =>
        {
            var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (key, value) in arguments.Keyword)
            {
                dict[key] = value;
            }

            return dict;
        }));
    }

    private static Namespace Namespace(CallArguments arguments)
    {
        var ns = new Namespace();
        if (arguments.Positional.Count > 0 && arguments.Positional[0] is OrderedDictionary<string, object?> initial)
        {
            foreach (var (key, value) in initial)
            {
                ns.Attributes[key] = value;
            }
        }

        foreach (var (key, value) in arguments.Keyword)
        {
            ns.Attributes[key] = value;
        }

        return ns;
    }

    private static List<object?> Range(CallArguments arguments, RenderBudget budget)
    {
        long[] bounds = arguments.Positional.Select(value => value is long l ? l
            : value is bool b ? (b ? 1L : 0L)
            : throw new TemplateRuntimeError($"range() needs integers, got '{ValueOps.TypeName(value)}'")).ToArray();
        (long start, long stop, long step) = bounds.Length switch
        {
            1 => (0L, bounds[0], 1L),
            2 => (bounds[0], bounds[1], 1L),
            3 => (bounds[0], bounds[1], bounds[2]),
            _ => throw new TemplateRuntimeError("range() takes 1 to 3 integer arguments"),
        };
        if (step == 0)
        {
            throw new TemplateRuntimeError("range() arg 3 must not be zero");
        }

        var result = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            // A range is as large as the loop it feeds; the same budget bounds both.
            budget.CountIteration();
            result.Add(i);
        }

        return result;
    }
}
