using Brim.Core;
using Brim.Engine.PrefixCache;

namespace Brim.Engine.KvCache;

/// <summary>
/// Prefix reuse: full, computed blocks are indexed by a hash chained over their content (<see cref="BlockHash"/>); a
/// sequence starting (or resuming) takes the longest indexed run of its leading blocks by reference instead of
/// computing them again. Invariant: only indexed blocks are ever shared, an indexed block is never written (all later
/// positions live in later blocks), so sharing needs no copy-on-write; <see cref="CheckWritable"/> asserts it for every
/// chunk the scheduler places.
/// </summary>
public sealed partial class BlockManager
{
    private readonly string? _cacheKey;
    private readonly BlockHash _unsaltedRoot;
    private readonly PrefixIndex? _index;
    private readonly EvictionOrder? _evictable;

    public bool PrefixCachingEnabled => _index is not null;

    /// <summary>Blocks the prefix cache indexes now, referenced or not.</summary>
    public int CachedBlocks => _index?.Count ?? 0;

    /// <summary>Cached blocks no sequence references (counted in <see cref="FreeBlocks"/>).</summary>
    public int EvictableBlocks => _evictable?.Count ?? 0;

    /// <summary>Cached blocks given up to make room since the start.</summary>
    public long Evictions { get; private set; }

    /// <summary>Tokens of the sequences that looked up their prefix when they started (vLLM's prefix_cache_queries).</summary>
    public long QueriedTokens { get; private set; }

    /// <summary>Of <see cref="QueriedTokens"/>, those found in the cache (vLLM's prefix_cache_hits).</summary>
    public long HitTokens { get; private set; }

    /// <summary>
    /// Fills <paramref name="hits"/> with the blocks holding <paramref name="seq"/>'s longest cached run of leading full
    /// blocks, at most <paramref name="maxBlocks"/>; returns how many of them no sequence references now (taking them
    /// removes them from the free count). Changes nothing.
    /// </summary>
    public int MatchPrefix(Sequence seq, int maxBlocks, List<int> hits)
    {
        hits.Clear();
        if (_index is null)
        {
            return 0;
        }

        var unreferenced = 0;
        for (var i = 0; i < maxBlocks; i++)
        {
            var block = _index.Find(HashOf(seq, i), seq.TokenSpan(i * BlockSize, BlockSize));
            if (block < 0)
            {
                break;
            }

            hits.Add(block);
            unreferenced += _refCounts[block] == 0 ? 1 : 0;
        }

        return unreferenced;
    }

    /// <summary>The most leading blocks a starting sequence may take from the cache: at least one token is left to compute, whose logits give the next token.</summary>
    public int MaxPrefixBlocks(Sequence seq) => (seq.Length - 1) / BlockSize;

    /// <summary>
    /// Gives an empty <paramref name="table"/> the matched blocks by reference. An online holder marks the blocks so they
    /// outlive offline-only ones (<see cref="PrefixEviction.OfflineFirst"/>).
    /// </summary>
    public void AcquirePrefix(BlockTable table, List<int> hits, TrafficClass holder)
    {
        if (table.Count != 0)
        {
            throw new InvalidOperationException("a prefix is taken only into an empty block table");
        }

        foreach (var block in hits)
        {
            if (_refCounts[block]++ == 0)
            {
                _evictable!.Remove(block);
            }

            if (holder == TrafficClass.Online)
            {
                _index!.MarkUsedOnline(block);
            }

            table.Add(block);
        }

        table.CacheCheckedCount = hits.Count;
    }

    /// <summary>Counts a starting sequence's lookup: <paramref name="queriedTokens"/> looked up, <paramref name="hitTokens"/> found.</summary>
    public void CountLookup(int queriedTokens, int hitTokens)
    {
        if (_index is not null)
        {
            QueriedTokens += queriedTokens;
            HitTokens += hitTokens;
        }
    }

    /// <summary>
    /// Offers <paramref name="seq"/>'s newly full and computed blocks to the index, after a step computed them. A block
    /// whose content another block already holds stays private to the sequence (freed, not cached, when released).
    /// </summary>
    public void RegisterComputed(Sequence seq)
    {
        if (_index is null)
        {
            return;
        }

        var table = seq.Blocks;
        var full = Math.Min(seq.ComputedTokens / BlockSize, table.Count);
        for (var i = table.CacheCheckedCount; i < full; i++)
        {
            var block = table[i];
            if (!_index.IsIndexed(block))
            {
                _index.TryAdd(block, HashOf(seq, i), seq.TokenSpan(i * BlockSize, BlockSize), seq.TrafficClass == TrafficClass.Online);
            }
        }

        table.CacheCheckedCount = Math.Max(table.CacheCheckedCount, full);
    }

    /// <summary>
    /// Throws unless every block holding positions [<paramref name="from"/>, from + <paramref name="count"/>) belongs to
    /// this table alone and is not indexed: the step about to write them must never change K/V another sequence reads.
    /// </summary>
    public void CheckWritable(BlockTable table, int from, int count)
    {
        for (var i = from / BlockSize; i <= (from + count - 1) / BlockSize; i++)
        {
            var block = table[i];
            if (_refCounts[block] != 1 || (_index?.IsIndexed(block) ?? false))
            {
                throw new InvalidOperationException(
                    $"KV integrity: positions {from}..{from + count - 1} would write block {block}, which is shared ({_refCounts[block]} references) or cached");
            }
        }
    }

    /// <summary>
    /// Forgets every cached block (vLLM's reset_prefix_cache): unreferenced ones become free, referenced ones stay with
    /// their sequences but are never found again. Returns how many blocks were forgotten.
    /// </summary>
    public int ResetPrefixCache()
    {
        if (_index is null)
        {
            return 0;
        }

        var forgotten = _index.Blocks.ToList();
        foreach (var block in forgotten)
        {
            _index.Remove(block);
            if (_evictable!.Contains(block))
            {
                _evictable.Remove(block);
                _free.Push(block);
            }
        }

        return forgotten.Count;
    }

    /// <summary>The content hash of <paramref name="seq"/>'s block <paramref name="blockIndex"/>, which must be full.</summary>
    internal BlockHash HashOf(Sequence seq, int blockIndex)
    {
        var hashes = seq.BlockHashes;
        while (hashes.Count <= blockIndex)
        {
            var parent = hashes.Count > 0 ? hashes[^1]
                : seq.Request.CacheSalt is null ? _unsaltedRoot : BlockHash.Root(_cacheKey!, seq.Request.CacheSalt);
            hashes.Add(BlockHash.Chain(parent, seq.TokenSpan(hashes.Count * BlockSize, BlockSize)));
        }

        return hashes[blockIndex];
    }
}
