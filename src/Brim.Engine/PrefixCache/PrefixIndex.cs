namespace Brim.Engine.PrefixCache;

/// <summary>
/// Which physical block holds the K/V of which content: block hash → block, with each cached block's tokens kept to
/// verify a hit (a hash collision becomes a miss). A block enters the index once it is full and computed, leaves it when
/// it is evicted or the cache is reset; an indexed block is immutable, since every later position lives in a later block.
/// </summary>
internal sealed class PrefixIndex
{
    private readonly int _blockSize;
    private readonly Dictionary<BlockHash, int> _blockOf = [];
    private readonly BlockHash[] _hashOf;
    private readonly bool[] _indexed;
    private readonly bool[] _usedOnline;
    private readonly int[] _tokens;

    public PrefixIndex(int totalBlocks, int blockSize)
    {
        _blockSize = blockSize;
        _hashOf = new BlockHash[totalBlocks];
        _indexed = new bool[totalBlocks];
        _usedOnline = new bool[totalBlocks];
        _tokens = new int[checked(totalBlocks * blockSize)];
    }

    /// <summary>Blocks in the index (referenced or not).</summary>
    public int Count => _blockOf.Count;

    public bool IsIndexed(int block) => _indexed[block];

    /// <summary>Whether an online request has held the block since it was indexed (it then outlives offline-only blocks).</summary>
    public bool UsedOnline(int block) => _usedOnline[block];

    public void MarkUsedOnline(int block) => _usedOnline[block] = true;

    /// <summary>The block holding <paramref name="tokens"/> under <paramref name="hash"/>, or -1.</summary>
    public int Find(BlockHash hash, ReadOnlySpan<int> tokens) =>
        _blockOf.TryGetValue(hash, out var block) && tokens.SequenceEqual(TokensOf(block)) ? block : -1;

    /// <summary>
    /// Indexes a full, computed block. False (and nothing changes) when another block already holds this content: two
    /// sequences computed the same prefix at once, and the later copy simply stays private to its sequence.
    /// </summary>
    public bool TryAdd(int block, BlockHash hash, ReadOnlySpan<int> tokens, bool usedOnline)
    {
        if (_indexed[block])
        {
            throw new InvalidOperationException($"block {block} is already indexed");
        }

        if (!_blockOf.TryAdd(hash, block))
        {
            return false;
        }

        _hashOf[block] = hash;
        _indexed[block] = true;
        _usedOnline[block] = usedOnline;
        tokens.CopyTo(_tokens.AsSpan(block * _blockSize, _blockSize));
        return true;
    }

    /// <summary>Drops a block from the index (evicted, or the cache was reset); its memory may then be rewritten.</summary>
    public void Remove(int block)
    {
        if (!_indexed[block] || !_blockOf.Remove(_hashOf[block]))
        {
            throw new InvalidOperationException($"block {block} is not indexed");
        }

        _indexed[block] = false;
        _usedOnline[block] = false;
    }

    public IEnumerable<int> Blocks => _blockOf.Values;

    /// <summary>Every indexed block is found under its own hash, and only indexed blocks are (checked with the block pool's).</summary>
    public void CheckIntegrity()
    {
        var indexed = 0;
        for (var b = 0; b < _indexed.Length; b++)
        {
            if (!_indexed[b])
            {
                continue;
            }

            indexed++;
            if (!_blockOf.TryGetValue(_hashOf[b], out var found) || found != b)
            {
                throw new InvalidOperationException($"prefix cache integrity: block {b} is marked cached but its hash leads elsewhere");
            }
        }

        if (indexed != _blockOf.Count)
        {
            throw new InvalidOperationException($"prefix cache integrity: {_blockOf.Count} hashes for {indexed} cached blocks");
        }
    }

    private ReadOnlySpan<int> TokensOf(int block) => _tokens.AsSpan(block * _blockSize, _blockSize);
}
