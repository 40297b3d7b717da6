using System.Diagnostics;
using Brim.Engine.PrefixCache;

namespace Brim.Engine.KvCache;

/// <summary>
/// Owns which physical KV block belongs to which sequence. The backend owns the memory behind the blocks; this class
/// only hands out block ids. Every block is in exactly one state: free (on the free list), cached (full, computed,
/// indexed by content and referenced by no sequence: reusable by a prefix hit until evicted), or used (referenced by
/// the sequences holding it, possibly several when they share a cached prefix). free + cached + used == total, checked
/// by <see cref="CheckIntegrity"/>. Not thread-safe: the step loop owns it. Prefix reuse lives in BlockManager.Prefix.cs.
/// </summary>
public sealed partial class BlockManager
{
    private readonly Stack<int> _free;
    private readonly int[] _refCounts;

    /// <param name="prefixCacheKey">
    /// What besides the tokens decides a block's K/V (the model and its weights' identity); null disables prefix caching.
    /// </param>
    public BlockManager(
        int totalBlocks, int blockSize, double watermarkFraction = 0.01, string? prefixCacheKey = null,
        PrefixEviction eviction = PrefixEviction.OfflineFirst)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        TotalBlocks = totalBlocks;
        BlockSize = blockSize;
        WatermarkBlocks = (int)Math.Floor(totalBlocks * watermarkFraction);
        _refCounts = new int[totalBlocks];
        _free = new Stack<int>(totalBlocks);
        if (prefixCacheKey is not null)
        {
            _cacheKey = prefixCacheKey;
            _unsaltedRoot = BlockHash.Root(prefixCacheKey, salt: null);
            _index = new PrefixIndex(totalBlocks, blockSize);
            _evictable = new EvictionOrder(totalBlocks, eviction);
        }

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

    /// <summary>Blocks a sequence can be given now: the free ones and the cached ones no sequence references (evicted on demand).</summary>
    public int FreeBlocks => _free.Count + (_evictable?.Count ?? 0);

    /// <summary>Blocks referenced by at least one sequence.</summary>
    public int UsedBlocks => TotalBlocks - FreeBlocks;

    /// <summary>Fraction of blocks in use, 0..1 (the <c>kv_cache_usage</c> metric; cached unreferenced blocks count as free, as in vLLM).</summary>
    public double Usage => (double)UsedBlocks / TotalBlocks;

    /// <summary>Blocks needed to hold <paramref name="positions"/> positions.</summary>
    public int BlocksFor(int positions) => (positions + BlockSize - 1) / BlockSize;

    /// <summary>Whether a running sequence can grow by <paramref name="blocks"/> blocks (may use the watermark reserve).</summary>
    public bool CanAppend(int blocks) => blocks <= FreeBlocks;

    /// <summary>Whether a new sequence needing <paramref name="blocks"/> blocks may be admitted (keeps the watermark).</summary>
    public bool CanAdmit(int blocks) => blocks <= FreeBlocks - WatermarkBlocks;

    /// <summary>Grows <paramref name="table"/> until it covers <paramref name="positions"/> positions.</summary>
    public void EnsureCapacity(BlockTable table, int positions)
    {
        var needed = BlocksFor(positions) - table.Count;
        if (needed > FreeBlocks)
        {
            throw new InvalidOperationException($"need {needed} KV blocks, {FreeBlocks} free: the scheduler must check CanAppend first");
        }

        for (var i = 0; i < needed; i++)
        {
            var block = Allocate();
            Debug.Assert(_refCounts[block] == 0, "a free block must have no references");
            _refCounts[block] = 1;
            table.Add(block);
        }
    }

    /// <summary>
    /// Drops <paramref name="table"/>'s references and empties it. A block nobody references any more becomes free, or,
    /// when the prefix cache indexes it, cached: evictable, and found again by the next request with that prefix. Blocks
    /// are released last first, so a chain's tail is evicted before its head (a head without its tail is still a hit).
    /// </summary>
    public void Release(BlockTable table)
    {
        for (var i = table.Count - 1; i >= 0; i--)
        {
            var block = table[i];
            if (_refCounts[block] <= 0)
            {
                throw new InvalidOperationException($"block {block} released twice");
            }

            if (--_refCounts[block] > 0)
            {
                continue;
            }

            if (_index is not null && _index.IsIndexed(block))
            {
                _evictable!.Add(block, _index.UsedOnline(block));
            }
            else
            {
                _free.Push(block);
            }
        }

        table.Clear();
    }

    /// <summary>
    /// Shrinks <paramref name="table"/> to the blocks covering its first <paramref name="positions"/> positions, freeing
    /// the rest (speculative decoding's rollback of rejected draft positions). The dropped blocks must be the table's own:
    /// one reference and not indexed, as every block past a sequence's computed positions is.
    /// </summary>
    public void TruncateTo(BlockTable table, int positions)
    {
        var keep = BlocksFor(positions);
        while (table.Count > keep)
        {
            var block = table[table.Count - 1];
            if (_refCounts[block] != 1 || (_index?.IsIndexed(block) ?? false))
            {
                throw new InvalidOperationException(
                    $"KV integrity: rolling back block {block}, which is shared ({_refCounts[block]} references) or cached");
            }

            table.RemoveLast();
            _refCounts[block] = 0;
            _free.Push(block);
        }
    }

    /// <summary>A free block if there is one; else the cached block the eviction order gives up (its content is forgotten).</summary>
    private int Allocate()
    {
        if (_free.TryPop(out var block))
        {
            return block;
        }

        if (_evictable is not null && _evictable.TryTake(out block))
        {
            _index!.Remove(block);
            Evictions++;
            return block;
        }

        throw new InvalidOperationException("no KV block is free or evictable");
    }

    /// <summary>
    /// Verifies free + cached + used == total: reference counts equal the number of live tables holding each block; a
    /// free block is unreferenced, uncached and listed once; a cached unreferenced block is indexed and evictable; the
    /// index and the eviction order agree. <paramref name="liveTables"/> are the tables of every sequence that holds blocks.
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

        var state = new byte[TotalBlocks]; // 1 free, 2 evictable
        foreach (var block in _free)
        {
            if (state[block] != 0)
            {
                throw new InvalidOperationException($"KV integrity: block {block} is on the free list twice");
            }

            state[block] = 1;
        }

        foreach (var block in _evictable?.Blocks ?? [])
        {
            if (state[block] != 0)
            {
                throw new InvalidOperationException($"KV integrity: block {block} is both free and evictable, or evictable twice");
            }

            state[block] = 2;
        }

        var used = 0;
        for (var b = 0; b < TotalBlocks; b++)
        {
            if (expected[b] != _refCounts[b])
            {
                throw new InvalidOperationException($"KV integrity: block {b} has {_refCounts[b]} references but live sequences hold it {expected[b]} times");
            }

            var indexed = _index?.IsIndexed(b) ?? false;
            var consistent = state[b] switch
            {
                1 => _refCounts[b] == 0 && !indexed,
                2 => _refCounts[b] == 0 && indexed,
                _ => _refCounts[b] > 0,
            };
            if (!consistent)
            {
                throw new InvalidOperationException(
                    $"KV integrity: block {b} is {(state[b] == 1 ? "free" : state[b] == 2 ? "evictable" : "neither free nor evictable")} with {_refCounts[b]} references{(indexed ? ", cached" : string.Empty)}");
            }

            used += _refCounts[b] > 0 ? 1 : 0;
        }

        if (_free.Count + (_evictable?.Count ?? 0) + used != TotalBlocks)
        {
            throw new InvalidOperationException($"KV integrity: {_free.Count} free + {_evictable?.Count ?? 0} cached + {used} used != {TotalBlocks}");
        }

        _index?.CheckIntegrity();
    }
}
