namespace Brim.Models.Parallel;

/// <summary>A half-open range [Start, Start + Length) of rows, columns, heads or vocabulary ids.</summary>
public readonly record struct IndexRange(int Start, int Length)
{
    public int End => Start + Length;

    public bool Contains(int index) => index >= Start && index < End;

    /// <summary>The range scaled by <paramref name="width"/>: heads → the rows or columns of their head_dim features.</summary>
    public IndexRange Times(int width) => new(Start * width, Length * width);

    public override string ToString() => $"[{Start}, {End})";
}
