namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// Limits that keep a hostile or buggy template from hanging the server or exhausting memory: loop iterations over
/// the whole render, the size of any string or list built, and macro call depth.
/// </summary>
internal sealed class RenderBudget(int maxLoopIterations, int maxOutputLength)
{
    public const int MaxCallDepth = 32;

    private long _iterations;
    private int _callDepth;

    public int MaxOutputLength { get; } = maxOutputLength;

    public void CountIteration()
    {
        if (++_iterations > maxLoopIterations)
        {
            throw new TemplateRuntimeError(
                $"template exceeded the limit of {maxLoopIterations} loop iterations (ChatTemplateOptions.MaxLoopIterations)");
        }
    }

    /// <summary>Refuses a string, list or output about to grow past the output limit.</summary>
    public void CheckSize(long size)
    {
        if (size > MaxOutputLength)
        {
            throw new TemplateRuntimeError(
                $"template produced a value or output longer than {MaxOutputLength} characters (ChatTemplateOptions.MaxOutputLength)");
        }
    }

    public void EnterCall()
    {
        if (++_callDepth > MaxCallDepth)
        {
            throw new TemplateRuntimeError($"macro calls are nested more than {MaxCallDepth} deep");
        }
    }

    public void ExitCall() => _callDepth--;
}
