using System.Diagnostics;

namespace Brim.Engine.KvCache;

/// <summary>
/// Owns which physical KV block belongs to which sequence. The backend owns the memory behind the blocks; this
/// class only hands out block ids. Invariant: every block is either free or referenced by exactly the sequences that
/// hold it (free + used == total), checked by <see cref="CheckIntegrity"/>. Not thread-safe: the step loop owns it.
/// </summary>
public sealed class BlockManager
{
    private readonly Stack<int> _free;
    private readonly int[] _refCounts;

    public BlockManager(int totalBlocks, int blockSize, double watermarkFraction = 0.01)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        TotalBlocks = totalBlocks;
        BlockSize = blockSize;
        WatermarkBlocks = (int)Math.Floor(totalBlocks * watermarkFraction);
        _refCounts = new int[totalBlocks];
        _free = new Stack<int>(totalBlocks);

        // Push in reverse so that block 0 is handed out first (easier to read in traces).
        for (var b = totalBlocks - 1; b >= 0; b--)
        {
            _free.Push(b);
        }
    }

    public int TotalBlocks { get; }

    public int BlockSize { get; }

    /// <summary>
    /// Blocks kept free when admitting new sequences, so that running sequences can grow a little before anyone has to
    /// be preempted (admission that fills the cache to the last block causes preemption churn at the next step).
    /// </summary>
    public int WatermarkBlocks { get; }

    public int FreeBlocks => _free.Count;

    public int UsedBlocks => TotalBlocks - _free.Count;

    /// <summary>Fraction of blocks in use, 0..1 (the <c>kv_cache_usage</c> metric).</summary>
    public double Usage => (double)UsedBlocks / TotalBlocks;

    /// <summary>Blocks needed to hold <paramref name="positions"/> positions.</summary>
    public int BlocksFor(int positions) => (positions + BlockSize - 1) / BlockSize;

    /// <summary>Whether a running sequence can grow by <paramref name="blocks"/> blocks (may use the watermark reserve).</summary>
    public bool CanAppend(int blocks) => blocks <= _free.Count;

    /// <summary>Whether a new sequence needing <paramref name="blocks"/> blocks may be admitted (keeps the watermark).</summary>
    public bool CanAdmit(int blocks) => blocks <= _free.Count - WatermarkBlocks;

    /// <summary>Grows <paramref name="table"/> until it covers <paramref name="positions"/> positions.</summary>
    public void EnsureCapacity(BlockTable table, int positions)
    {
        var needed = BlocksFor(positions) - table.Count;
        if (needed > _free.Count)
        {
            throw new InvalidOperationException($"need {needed} KV blocks, {_free.Count} free: the scheduler must check CanAppend first");
        }

        for (var i = 0; i < needed; i++)
        {
            var block = _free.Pop();
            Debug.Assert(_refCounts[block] == 0, "a free block must have no references");
            _refCounts[block] = 1;
            table.Add(block);
        }
    }

    /// <summary>Returns every block of <paramref name="table"/> to the pool and empties the table.</summary>
    public void Release(BlockTable table)
    {
        for (var i = table.Count - 1; i >= 0; i--)
        {
            var block = table[i];
            if (_refCounts[block] <= 0)
            {
                throw new InvalidOperationException($"block {block} released twice");
            }

            if (--_refCounts[block] == 0)
            {
                _free.Push(block);
            }
        }

        table.Clear();
    }

    /// <summary>
    /// Verifies free + used == total: no block is both free and referenced, none is lost, none is free twice.
    /// <paramref name="liveTables"/> are the tables of every sequence that holds blocks.
    /// </summary>
    public void CheckIntegrity(IEnumerable<BlockTable> liveTables)
    {
        var expected = new int[TotalBlocks];
        foreach (var table in liveTables)
        {
            for (var i = 0; i < table.Count; i++)
            {
                expected[table[i]]++;
            }
        }

        var isFree = new bool[TotalBlocks];
        foreach (var block in _free)
        {
            if (isFree[block])
            {
                throw new InvalidOperationException($"KV integrity: block {block} is on the free list twice");
            }

            isFree[block] = true;
        }

        for (var b = 0; b < TotalBlocks; b++)
        {
            if (expected[b] != _refCounts[b])
            {
                throw new InvalidOperationException($"KV integrity: block {b} has {_refCounts[b]} references but live sequences hold it {expected[b]} times");
            }

            if (isFree[b] == (_refCounts[b] > 0))
            {
                throw new InvalidOperationException($"KV integrity: block {b} is {(isFree[b] ? "free" : "not free")} with {_refCounts[b]} references");
            }
        }
    }
}
