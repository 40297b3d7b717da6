namespace Brim.Engine.PrefixCache;

/// <summary>
/// The cached blocks no sequence references, in the order they give way: two least-recently-released lists, blocks only
/// offline work used and blocks an online request used, the offline list drained first under
/// <see cref="PrefixEviction.OfflineFirst"/> (one list under <see cref="PrefixEviction.Lru"/>). O(1) add, remove and take,
/// and no allocation: each block has one list node for life, moved between the lists and out of them.
/// </summary>
internal sealed class EvictionOrder
{
    private readonly PrefixEviction _policy;
    private readonly LinkedList<int> _offline = new();
    private readonly LinkedList<int> _online = new();
    private readonly LinkedListNode<int>[] _nodes;

    public EvictionOrder(int totalBlocks, PrefixEviction policy)
    {
        _policy = policy;
        _nodes = new LinkedListNode<int>[totalBlocks];
        for (var b = 0; b < totalBlocks; b++)
        {
            _nodes[b] = new LinkedListNode<int>(b);
        }
    }

    public int Count => _offline.Count + _online.Count;

    public bool Contains(int block) => _nodes[block].List is not null;

    /// <summary>Puts a block that just lost its last reference at the most-recently-used end of its list.</summary>
    public void Add(int block, bool usedOnline)
    {
        if (Contains(block))
        {
            throw new InvalidOperationException($"block {block} is already evictable");
        }

        var list = usedOnline && _policy == PrefixEviction.OfflineFirst ? _online : _offline;
        list.AddLast(_nodes[block]);
    }

    /// <summary>Takes a block out of the order because a sequence references it again (a prefix hit).</summary>
    public void Remove(int block)
    {
        var node = _nodes[block];
        (node.List ?? throw new InvalidOperationException($"block {block} is not evictable")).Remove(node);
    }

    /// <summary>The block to evict next, removed from the order; false when none is left.</summary>
    public bool TryTake(out int block)
    {
        var list = _offline.Count > 0 ? _offline : _online;
        if (list.First is not { } first)
        {
            block = -1;
            return false;
        }

        block = first.Value;
        Remove(block);
        return true;
    }

    public IEnumerable<int> Blocks => _offline.Concat(_online);
}
