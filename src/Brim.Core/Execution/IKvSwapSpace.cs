namespace Brim.Core.Execution;

/// <summary>
/// An optional capability of a backend (<see cref="IModelBackend.SwapSpace"/>): an arena of KV blocks in host memory
/// where the engine parks a preempted sequence's K/V instead of dropping it and recomputing it later.
/// </summary>
/// <remarks>
/// Ownership, as for the KV cache itself: the engine decides which swap block holds which sequence's data (its own
/// block pool, sized by <see cref="Allocate"/>); the backend owns the memory behind the swap blocks and does the copies.
/// Ordering: copies take effect in call order, relative to each other and to <see cref="IModelBackend.Forward"/>: a
/// <see cref="SwapOut"/> called before a Forward has read its cache blocks before that Forward may overwrite them, and a
/// <see cref="SwapIn"/> called before a Forward has landed before that Forward reads them. Backends may do the copies
/// asynchronously as long as they keep that order. Not thread-safe: the engine's step loop is the only caller.
/// </remarks>
public interface IKvSwapSpace
{
    /// <summary>Swap space the backend suggests when the engine's option leaves it unset (0: none).</summary>
    long DefaultBytes { get; }

    /// <summary>
    /// Effective bytes per second of one direction of a block copy between the KV cache and the swap space, for the
    /// engine's swap-or-recompute decision; <see cref="double.PositiveInfinity"/> where a copy always beats recomputing.
    /// </summary>
    double CopyBytesPerSecond { get; }

    /// <summary>Swap blocks allocated (0 before <see cref="Allocate"/>).</summary>
    int NumBlocks { get; }

    /// <summary>
    /// Allocates <paramref name="numBlocks"/> swap blocks of <paramref name="blockSize"/> positions, each
    /// <see cref="IModelBackend.KvBytesPerBlock"/> bytes. Called once, before the KV cache is allocated.
    /// </summary>
    void Allocate(int numBlocks, int blockSize);

    /// <summary>Copies each <see cref="KvBlockCopy.Source"/> KV cache block into swap block <see cref="KvBlockCopy.Destination"/>.</summary>
    void SwapOut(ReadOnlySpan<KvBlockCopy> copies);

    /// <summary>Copies each <see cref="KvBlockCopy.Source"/> swap block into KV cache block <see cref="KvBlockCopy.Destination"/>.</summary>
    void SwapIn(ReadOnlySpan<KvBlockCopy> copies);
}

/// <summary>One block copy between the KV cache and the swap space (which side is which depends on the direction).</summary>
public readonly record struct KvBlockCopy(int Source, int Destination);
