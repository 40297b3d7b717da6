using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.PrefixCache;

namespace Brim.Engine.Tests.PrefixCache;

/// <summary>The block pool with the prefix cache: match, share, register, release into the cache, evict, reset.</summary>
public class BlockManagerPrefixTests
{
    private const int BlockSize = 4;

    [Fact]
    public void MatchPrefix_AfterAnotherSequenceComputedIt_FindsTheSameBlocks()
    {
        var blocks = new BlockManager(16, BlockSize, watermarkFraction: 0, prefixCacheKey: "m");
        var first = Computed(blocks, Seq("a", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
        var second = Seq("b", [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);

        var hits = new List<int>();
        var unreferenced = blocks.MatchPrefix(second, blocks.MaxPrefixBlocks(second), hits);

        Assert.Equal([first.Blocks[0], first.Blocks[1]], hits); // two full blocks; the partial third is never shared
        Assert.Equal(0, unreferenced); // the first sequence still holds them
        blocks.AcquirePrefix(second.Blocks, hits, TrafficClass.Online);
        blocks.CheckIntegrity([first.Blocks, second.Blocks]);
        Assert.Throws<InvalidOperationException>(() => blocks.CheckWritable(second.Blocks, 4, 1)); // shared: never written
    }

    [Fact]
    public void MatchPrefix_WholePromptCached_LeavesTheLastTokenToCompute()
    {
        var blocks = new BlockManager(16, BlockSize, watermarkFraction: 0, prefixCacheKey: "m");
        Computed(blocks, Seq("a", [1, 2, 3, 4, 5, 6, 7, 8, 9]));
        var same = Seq("b", [1, 2, 3, 4, 5, 6, 7, 8]);

        var hits = new List<int>();
        blocks.MatchPrefix(same, blocks.MaxPrefixBlocks(same), hits);

        Assert.Single(hits); // 8 tokens = 2 full blocks, but one token must run to give logits
    }

    [Fact]
    public void MatchPrefix_DifferentKeyOrSalt_Misses()
    {
        var blocks = new BlockManager(16, BlockSize, watermarkFraction: 0, prefixCacheKey: "m");
        Computed(blocks, Seq("a", [1, 2, 3, 4, 5, 6, 7, 8, 9]));
        var hits = new List<int>();

        blocks.MatchPrefix(Seq("b", [1, 2, 3, 4, 5, 6, 7, 8, 9], salt: "tenant-2"), 2, hits);
        Assert.Empty(hits);

        var otherModel = new BlockManager(16, BlockSize, watermarkFraction: 0, prefixCacheKey: "other");
        Assert.NotEqual(BlockHash.Root("m", null), BlockHash.Root("other", null));
        otherModel.MatchPrefix(Seq("c", [1, 2, 3, 4, 5, 6, 7, 8, 9]), 2, hits);
        Assert.Empty(hits);
    }

    [Fact]
    public void Release_CachedBlocks_StayFindableAndCountAsFree()
    {
        var blocks = new BlockManager(8, BlockSize, watermarkFraction: 0, prefixCacheKey: "m");
        var a = Computed(blocks, Seq("a", [1, 2, 3, 4, 5, 6, 7, 8, 9]));
        var held = a.Blocks[0];

        blocks.Release(a.Blocks);

        Assert.Equal(8, blocks.FreeBlocks);
        Assert.Equal(2, blocks.CachedBlocks);
        Assert.Equal(2, blocks.EvictableBlocks);
        blocks.CheckIntegrity([]);
        var b = Seq("b", [1, 2, 3, 4, 5, 6, 7, 8, 10]);
        var hits = new List<int>();
        Assert.Equal(2, blocks.MatchPrefix(b, 2, hits)); // both unreferenced: taking them lowers the free count
        Assert.Equal(held, hits[0]);
        blocks.AcquirePrefix(b.Blocks, hits, TrafficClass.Offline);
        Assert.Equal(6, blocks.FreeBlocks);
        blocks.CheckIntegrity([b.Blocks]);
    }

    [Fact]
    public void EnsureCapacity_NoFreeBlock_EvictsCachedTailFirstThenFindsNothing()
    {
        var blocks = new BlockManager(3, BlockSize, watermarkFraction: 0, prefixCacheKey: "m");
        var a = Computed(blocks, Seq("a", [1, 2, 3, 4, 5, 6, 7, 8, 9]));
        blocks.Release(a.Blocks); // two cached blocks, one free

        var other = new BlockTable();
        blocks.EnsureCapacity(other, 2 * BlockSize); // the free one, then the chain's tail

        Assert.Equal(1, blocks.Evictions);
        var hits = new List<int>();
        blocks.MatchPrefix(Seq("b", [1, 2, 3, 4, 5, 6, 7, 8, 9]), 2, hits);
        Assert.Single(hits); // the head survived its tail
        blocks.CheckIntegrity([other]);
    }

    [Theory]
    [InlineData(PrefixEviction.OfflineFirst, true)]
    [InlineData(PrefixEviction.Lru, false)]
    public void Eviction_OnlineUsedBlock_OutlivesNewerOfflineBlocksOnlyUnderOfflineFirst(PrefixEviction policy, bool onlineSurvives)
    {
        var blocks = new BlockManager(3, BlockSize, watermarkFraction: 0, prefixCacheKey: "m", eviction: policy);
        var online = Computed(blocks, Seq("on", [1, 2, 3, 4, 5], TrafficClass.Online));
        blocks.Release(online.Blocks); // block 0 cached (online), block 1 free
        var offline = Computed(blocks, Seq("off", [9, 9, 9, 9, 8], TrafficClass.Offline));
        blocks.Release(offline.Blocks); // one more cached block, released after the online one; one free

        blocks.EnsureCapacity(new BlockTable(), 2 * BlockSize); // the free block and one eviction
        Assert.Equal(1, blocks.Evictions);

        var hits = new List<int>();
        blocks.MatchPrefix(Seq("again", [1, 2, 3, 4, 5], TrafficClass.Online), 1, hits);
        Assert.Equal(onlineSurvives, hits.Count == 1);
    }

    [Fact]
    public void ResetPrefixCache_ForgetsEverything_HeldBlocksStayWithTheirSequence()
    {
        var blocks = new BlockManager(8, BlockSize, watermarkFraction: 0, prefixCacheKey: "m");
        var gone = Computed(blocks, Seq("a", [1, 2, 3, 4, 5]));
        blocks.Release(gone.Blocks);
        var running = Computed(blocks, Seq("b", [5, 6, 7, 8, 9]));

        Assert.Equal(2, blocks.ResetPrefixCache());

        Assert.Equal(0, blocks.CachedBlocks);
        Assert.Equal(6, blocks.FreeBlocks);
        blocks.CheckIntegrity([running.Blocks]);
        var hits = new List<int>();
        blocks.MatchPrefix(Seq("c", [1, 2, 3, 4, 5]), 1, hits);
        Assert.Empty(hits);
        blocks.Release(running.Blocks);
        Assert.Equal(8, blocks.FreeBlocks);
        blocks.CheckIntegrity([]);
    }

    [Fact]
    public void RegisterComputed_SameContentTwice_SecondCopyStaysPrivateAndIsFreedOnRelease()
    {
        var blocks = new BlockManager(8, BlockSize, watermarkFraction: 0, prefixCacheKey: "m");
        var a = Computed(blocks, Seq("a", [1, 2, 3, 4, 5]));
        var b = Computed(blocks, Seq("b", [1, 2, 3, 4, 5])); // computed at the same time, not from the cache

        Assert.Equal(1, blocks.CachedBlocks);
        blocks.Release(b.Blocks);
        Assert.Equal(0, blocks.EvictableBlocks); // b's copy went back to the free list
        blocks.CheckIntegrity([a.Blocks]);
    }

    [Fact]
    public void Disabled_NothingIsCached()
    {
        var blocks = new BlockManager(8, BlockSize, watermarkFraction: 0);
        var a = Computed(blocks, Seq("a", [1, 2, 3, 4, 5]));
        blocks.Release(a.Blocks);

        Assert.False(blocks.PrefixCachingEnabled);
        Assert.Equal(0, blocks.CachedBlocks);
        var hits = new List<int> { 99 };
        Assert.Equal(0, blocks.MatchPrefix(Seq("b", [1, 2, 3, 4, 5]), 1, hits));
        Assert.Empty(hits);
    }

    private static Sequence Seq(string id, int[] prompt, TrafficClass cls = TrafficClass.Online, string? salt = null) =>
        new(new GenerationRequest { Id = new RequestId(id), PromptTokens = prompt, TrafficClass = cls, CacheSalt = salt }, 0, text: null);

    /// <summary>Gives the sequence blocks for its whole prompt, marks it computed and registers its full blocks.</summary>
    private static Sequence Computed(BlockManager blocks, Sequence seq)
    {
        blocks.EnsureCapacity(seq.Blocks, seq.Length);
        seq.ComputedTokens = seq.Length;
        blocks.RegisterComputed(seq);
        return seq;
    }
}
