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
        var (tiles, decodeRows) = Split([1, 1, 7], rowsPerTile: 0);

        Assert.Equal(0, decodeRows);
        Assert.Empty(tiles);
    }

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
        StepMetadata.Write(batch, meta, layout, 8, batch.LogitRows, 3, 100, RowsPerTile);

        Assert.Equal(6, batch.LogitRows);
        Assert.Equal([0, 1, 2, 3, 4, 7], meta.AsSpan(layout.LogitRowTokens, 6).ToArray());
    }

    private static (List<(int First, int Rows)> Tiles, int DecodeRows) Split(int[] sliceTokens, int rowsPerTile = RowsPerTile)
    {
        var slices = new SequenceSlice[sliceTokens.Length];
        var start = 0;
        for (var i = 0; i < sliceTokens.Length; i++)
        {
            // Each sequence owns block i; a decode row continues a 5-token sequence, a chunk starts at position 0.
            var position = sliceTokens[i] == 1 ? 5 : 0;
            slices[i] = new SequenceSlice(start, sliceTokens[i], position, new[] { i, i + sliceTokens.Length }, NeedsLogits: true);
            start += sliceTokens[i];
        }

        var batch = new ForwardBatch(new int[start], slices, BlockSize);
        var layout = new StepLayout(new StepCapacity(64, 64, 64));
        var meta = new int[layout.TotalInts];
        var (_, tileCount, decodeRows, _) = StepMetadata.Write(batch, meta, layout, start, batch.LogitRows, 2 * sliceTokens.Length, 100, rowsPerTile);
        var tiles = meta.AsSpan(layout.QueryTiles, tileCount).ToArray()
            .Select(t => (t >> PrefillAttentionKernel.RowCountBits, t & ((1 << PrefillAttentionKernel.RowCountBits) - 1)))
            .ToList();
        return (tiles, decodeRows);
    }
}
