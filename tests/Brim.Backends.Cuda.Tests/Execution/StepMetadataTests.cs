using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Kernels;
using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Tests.Execution;

/// <summary>
/// How a step's rows are split between the decode attention kernel and the tensor-core prefill tiles: host-side
/// metadata only, so this runs without a GPU.
/// </summary>
public class StepMetadataTests
{
    private const int BlockSize = 16;
    private const int RowsPerTile = 16;

    // GQA 4 (the Llama-3.1-8B shape): 64 / 4 rows per small tile, 128 / 4 per long tile.
    private static readonly PrefillTiling SmallOnly = new(RowsPerTile, 0);
    private static readonly PrefillTiling SmallAndLong = new(RowsPerTile, 32);

    [Fact]
    public void Write_LeadingDecodeRowsThenChunks_DecodeRowsLeftOutOfTheTiles()
    {
        // Three decode rows, a 20-token chunk (two tiles), then a decode row after it (tiled: the decode kernel takes
        // only the leading run, rows 0..2).
        var (tiles, decodeRows) = Split([1, 1, 1, 20, 1]);

        Assert.Equal(3, decodeRows);
        Assert.Equal([(3, 16), (19, 4), (23, 1)], tiles);
    }

    [Fact]
    public void Write_ChunkFirst_EveryRowTiledAndNoDecodeRows()
    {
        var (tiles, decodeRows) = Split([5, 1, 1]);

        Assert.Equal(0, decodeRows);
        Assert.Equal([(0, 5), (5, 1), (6, 1)], tiles);
    }

    [Fact]
    public void Write_NoTiles_NothingSplit()
    {
        var (tiles, decodeRows) = Split([1, 1, 7], PrefillTiling.None);

        Assert.Equal(0, decodeRows);
        Assert.Empty(tiles);
    }

    [Fact]
    public void Write_LongChunkBesideShortOnes_LongChunkCutIntoLongTilesAfterTheSmallOnes()
    {
        // Two decode rows, a 20-token chunk (small tiles), a 100-token chunk (long: 32 + 32 + 32 + 4 rows), a 70-token
        // chunk (long: 32 + 32 + 6) and a decode row after them (a small tile).
        var (tiles, longTiles, decodeRows) = SplitBoth([1, 1, 20, 100, 70, 1], SmallAndLong);

        Assert.Equal(2, decodeRows);
        Assert.Equal([(2, 16), (18, 4), (192, 1)], tiles);
        Assert.Equal([(22, 32), (54, 32), (86, 32), (118, 4), (122, 32), (154, 32), (186, 6)], longTiles);
    }

    [Fact]
    public void Write_LongKernelUnavailable_LongChunkCutIntoSmallTiles()
    {
        var (tiles, longTiles, _) = SplitBoth([70], SmallOnly);

        Assert.Equal([(0, 16), (16, 16), (32, 16), (48, 16), (64, 6)], tiles);
        Assert.Empty(longTiles);
    }

    [Theory]
    [InlineData(16, 32, 63, false)] // below the 64-row floor
    [InlineData(16, 32, 64, true)]
    [InlineData(64, 128, 100, false)] // GQA 1: not a whole long tile
    [InlineData(64, 128, 128, true)]
    [InlineData(8, 16, 64, true)] // GQA 8
    [InlineData(16, 0, 8192, false)] // no long kernel
    public void UsesLongTiles_SliceRows_LongOnlyFromTheFloorAndAWholeTile(int small, int longRows, int sliceTokens, bool expected)
        => Assert.Equal(expected, new PrefillTiling(small, longRows).UsesLongTiles(sliceTokens));

    [Theory]
    [InlineData(0, 1)]
    [InlineData(65535, 128)]
    [InlineData(12345, 255)]
    public void PackTile_RowAndCount_RoundTrip(int first, int rows)
        => Assert.Equal((first, rows), PrefillTiling.Unpack(PrefillTiling.PackTile(first, rows)));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 256)]
    [InlineData(-1, 4)]
    public void PackTile_CountOutsideTheBits_Throws(int first, int rows)
        => Assert.Throws<ArgumentOutOfRangeException>(() => PrefillTiling.PackTile(first, rows));

    [Fact]
    public void Write_SliceVerifyingADraft_GathersALogitRowForEachOfItsLastTokens()
    {
        // A decode row, then a sequence's last token and a 3-token draft (4 tokens, 4 logit rows), then a plain chunk.
        var slices = new[]
        {
            new SequenceSlice(0, 1, 5, new[] { 0 }, NeedsLogits: true),
            new SequenceSlice(1, 4, 7, new[] { 1 }, NeedsLogits: true, LogitTokens: 4),
            new SequenceSlice(5, 3, 0, new[] { 2 }, NeedsLogits: true),
        };
        var batch = new ForwardBatch(new int[8], slices, BlockSize);
        var layout = new StepLayout(new StepCapacity(64, 64, 64));
        var meta = new int[layout.TotalInts];
        StepMetadata.Write(batch, meta, layout, 8, batch.LogitRows, 3, 100, SmallOnly);

        Assert.Equal(6, batch.LogitRows);
        Assert.Equal([0, 1, 2, 3, 4, 7], meta.AsSpan(layout.LogitRowTokens, 6).ToArray());
    }

    private static (List<(int First, int Rows)> Tiles, int DecodeRows) Split(int[] sliceTokens, PrefillTiling? tiling = null)
    {
        var (tiles, longTiles, decodeRows) = SplitBoth(sliceTokens, tiling ?? SmallOnly);
        Assert.Empty(longTiles);
        return (tiles, decodeRows);
    }

    private static (List<(int First, int Rows)> Tiles, List<(int First, int Rows)> LongTiles, int DecodeRows) SplitBoth(int[] sliceTokens, PrefillTiling tiling)
    {
        var slices = new SequenceSlice[sliceTokens.Length];
        var start = 0;
        for (var i = 0; i < sliceTokens.Length; i++)
        {
            // Each sequence owns its own blocks; a decode row continues a 5-token sequence, a chunk starts at position 0.
            var position = sliceTokens[i] == 1 ? 5 : 0;
            var blocks = (position + sliceTokens[i] + BlockSize - 1) / BlockSize;
            slices[i] = new SequenceSlice(start, sliceTokens[i], position, Enumerable.Range(i * 16, blocks).ToArray(), NeedsLogits: true);
            start += sliceTokens[i];
        }

        var batch = new ForwardBatch(new int[start], slices, BlockSize);
        var layout = new StepLayout(new StepCapacity(256, 64, 256));
        var meta = new int[layout.TotalInts];
        var (_, tileCount, longTileCount, decodeRows, _) = StepMetadata.Write(batch, meta, layout, start, batch.LogitRows, 16 * sliceTokens.Length, 100, tiling);
        var all = meta.AsSpan(layout.QueryTiles, tileCount + longTileCount).ToArray().Select(PrefillTiling.Unpack).ToList();
        return (all[..tileCount], all[tileCount..], decodeRows);
    }
}
