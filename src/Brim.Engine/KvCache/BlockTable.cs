namespace Brim.Engine.KvCache;

/// <summary>
/// A sequence's physical KV blocks in position order. Backed by a growable array so that the forward batch can borrow
/// it as <see cref="ReadOnlyMemory{T}"/> without a copy each step.
/// </summary>
public sealed class BlockTable
{
    private int[] _blocks = new int[4];

    public int Count { get; private set; }

    /// <summary>
    /// Leading blocks the prefix cache has already seen for this table: taken from it as a hit, or offered to it once
    /// full and computed (indexed unless another block held the same content). Later blocks are still being written.
    /// </summary>
    public int CacheCheckedCount { get; internal set; }

    public int this[int index] => index < Count ? _blocks[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public ReadOnlyMemory<int> AsMemory() => _blocks.AsMemory(0, Count);

    internal void Add(int block)
    {
        if (Count == _blocks.Length)
        {
            Array.Resize(ref _blocks, _blocks.Length * 2);
        }

        _blocks[Count++] = block;
    }

    /// <summary>Drops the last block (its reference is the caller's to release).</summary>
    internal int RemoveLast()
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("the block table is empty");
        }

        Count--;
        CacheCheckedCount = Math.Min(CacheCheckedCount, Count);
        return _blocks[Count];
    }

    internal void Clear()
    {
        Count = 0;
        CacheCheckedCount = 0;
    }
}
