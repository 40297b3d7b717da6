using Brim.Engine.KvCache;

namespace Brim.Engine.Tests;

public class BlockManagerTests
{
    [Fact]
    public void EnsureCapacity_GrowsTableToCoverPositions()
    {
        var blocks = new BlockManager(totalBlocks: 10, blockSize: 4);
        var table = new BlockTable();
        blocks.EnsureCapacity(table, 9);
        Assert.Equal(3, table.Count);
        blocks.EnsureCapacity(table, 12);
        Assert.Equal(3, table.Count);
        blocks.EnsureCapacity(table, 13);
        Assert.Equal(4, table.Count);
        Assert.Equal(6, blocks.FreeBlocks);
        blocks.CheckIntegrity([table]);
    }

    [Fact]
    public void Release_ReturnsEveryBlock()
    {
        var blocks = new BlockManager(8, 2);
        var a = new BlockTable();
        var b = new BlockTable();
        blocks.EnsureCapacity(a, 5);
        blocks.EnsureCapacity(b, 4);
        blocks.Release(a);
        blocks.CheckIntegrity([b]);
        blocks.Release(b);
        Assert.Equal(8, blocks.FreeBlocks);
        blocks.CheckIntegrity([]);
    }

    [Fact]
    public void CheckIntegrity_LostBlock_Throws()
    {
        var blocks = new BlockManager(4, 2);
        var table = new BlockTable();
        blocks.EnsureCapacity(table, 3);

        // The table is not reported as live: its two blocks are neither free nor held.
        var ex = Assert.Throws<InvalidOperationException>(() => blocks.CheckIntegrity([]));
        Assert.Contains("integrity", ex.Message);
    }

    [Fact]
    public void EnsureCapacity_BeyondFreeBlocks_Throws()
    {
        var blocks = new BlockManager(2, 2);
        Assert.Throws<InvalidOperationException>(() => blocks.EnsureCapacity(new BlockTable(), 5));
    }

    [Fact]
    public void CanAdmit_KeepsWatermark_CanAppendMayUseIt()
    {
        var blocks = new BlockManager(100, 16, watermarkFraction: 0.1);
        Assert.Equal(10, blocks.WatermarkBlocks);
        Assert.True(blocks.CanAdmit(90));
        Assert.False(blocks.CanAdmit(91));
        Assert.True(blocks.CanAppend(100));
    }
}
