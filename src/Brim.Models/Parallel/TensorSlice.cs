namespace Brim.Models.Parallel;

/// <summary>How a rank holds one tensor of the full checkpoint.</summary>
public enum SliceKind
{
    /// <summary>The whole tensor (norms): every rank holds the same copy.</summary>
    Replicated,

    /// <summary>
    /// A range of rows, i.e. of output features of an [out, in] weight or of a bias: Megatron's column-parallel linear
    /// (q/k/v, gate/up) and the vocabulary-parallel embedding and LM head. Rows are contiguous in a row-major file, so
    /// a rank reads one byte range.
    /// </summary>
    Rows,

    /// <summary>A range of columns (input features) of an [out, in] weight: Megatron's row-parallel linear (o, down).</summary>
    Columns,

    /// <summary>Not held: the bias of a row-parallel linear lives on rank 0 only, so the all-reduce adds it once.</summary>
    Absent,
}

/// <summary>
/// The part of a full tensor of shape <see cref="FullShape"/> that one rank holds: <see cref="Range"/> indexes rows
/// for <see cref="SliceKind.Rows"/> and columns for <see cref="SliceKind.Columns"/>.
/// </summary>
public sealed record TensorSlice(string Name, SliceKind Kind, IndexRange Range, long[] FullShape)
{
    /// <summary>The shape of the rank's part.</summary>
    public long[] Shape => Kind switch
    {
        SliceKind.Rows => [Range.Length, .. FullShape[1..]],
        SliceKind.Columns => [FullShape[0], Range.Length],
        SliceKind.Replicated => FullShape,
        _ => [],
    };

    public override string ToString() => Kind switch
    {
        SliceKind.Rows => $"{Name} rows {Range} of [{string.Join(", ", FullShape)}]",
        SliceKind.Columns => $"{Name} columns {Range} of [{string.Join(", ", FullShape)}]",
        _ => $"{Name} {Kind.ToString().ToLowerInvariant()}",
    };
}
