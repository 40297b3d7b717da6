namespace Brim.Backends.Cuda.Execution;

/// <summary>Sizes the per-step buffers are allocated for: tokens, logit rows and block-table entries.</summary>
internal readonly record struct StepCapacity(int Tokens, int LogitRows, int BlockTableEntries)
{
    public bool Holds(int tokens, int logitRows, int blockTableEntries)
        => tokens <= Tokens && logitRows <= LogitRows && blockTableEntries <= BlockTableEntries;

    /// <summary>A capacity at least as large as this one in every dimension that holds the given sizes (doubling).</summary>
    public StepCapacity GrownToHold(int tokens, int logitRows, int blockTableEntries)
        => new(Grow(Tokens, tokens), Grow(LogitRows, logitRows), Grow(BlockTableEntries, blockTableEntries));

    private static int Grow(int current, int needed)
    {
        var size = current;
        while (size < needed)
        {
            size *= 2;
        }

        return size;
    }
}
