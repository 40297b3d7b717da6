namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// How a step's multi-token slices are cut into query tiles for the two tensor-core prefill attention kernels, and the
/// constants the host and the kernels share (passed to them as defines, so a tile's row count cannot differ between the
/// host that cuts it and the kernel that reads it). A tile is up to <c>RowsPerTile</c> consecutive rows of ONE slice
/// (all its rows share a block table), packed as <c>first row &lt;&lt; RowCountBits | row count</c>.
/// </summary>
/// <param name="SmallRowsPerTile">Rows of a prefill_attention.cu tile (<see cref="SmallQuerySlots"/> / GQA group); 0: no tiles at all.</param>
/// <param name="LongRowsPerTile">Rows of a prefill_attention_long.cu tile (<see cref="LongQuerySlots"/> / GQA group); 0: that kernel is unavailable.</param>
internal readonly record struct PrefillTiling(int SmallRowsPerTile, int LongRowsPerTile)
{
    /// <summary>Query slots (token rows x query heads of one KV head) of a prefill_attention.cu CTA: 4 warps x 16 mma rows.</summary>
    public const int SmallQuerySlots = 64;

    /// <summary>Query slots of a prefill_attention_long.cu CTA: 8 warps x 16 mma rows.</summary>
    public const int LongQuerySlots = 128;

    /// <summary>Bits of a packed tile entry that hold its row count (up to <see cref="LongQuerySlots"/> rows at GQA 1).</summary>
    public const int RowCountBits = 8;

    /// <summary>Fewest rows of a slice for which the long-tile kernel is chosen (see <see cref="UsesLongTiles"/>).</summary>
    public const int LongMinRows = 64;

    /// <summary>No tensor-core prefill: every row goes to the paged attention kernel.</summary>
    public static PrefillTiling None => default;

    /// <summary>Whether the step is cut into tiles at all.</summary>
    public bool Enabled => SmallRowsPerTile > 0;

    /// <summary>
    /// The one selection rule: a slice of <paramref name="sliceTokens"/> rows runs on the long-tile kernel when that
    /// kernel exists and the slice has at least <see cref="LongMinRows"/> rows and a whole long tile. Why: each tile
    /// re-reads the slice's whole K/V context, so a long chunk (the 8,192-row chunks of a 32k prompt) wants as few tiles
    /// as possible; a short chunk or a verify slice of a few rows would leave most of a 128-slot CTA empty and give the
    /// GPU fewer, slower CTAs, where 64-slot tiles keep more of it busy. 64 rows is where a chunk at GQA 4 fills two
    /// long tiles; the GPU harness (bench-prefill-attention) times both kernels to check the threshold.
    /// </summary>
    public bool UsesLongTiles(int sliceTokens)
        => LongRowsPerTile > 0 && sliceTokens >= Math.Max(LongMinRows, LongRowsPerTile);

    /// <summary>Rows per tile of the kernel <see cref="UsesLongTiles"/> picks for a slice of <paramref name="sliceTokens"/> rows.</summary>
    public int RowsPerTileFor(int sliceTokens) => UsesLongTiles(sliceTokens) ? LongRowsPerTile : SmallRowsPerTile;

    /// <summary>Token rows of a tile of <paramref name="querySlots"/> slots: the query heads of a KV head times this fill the slots.</summary>
    public static int RowsPerTile(AttentionShape shape, int querySlots) => querySlots / shape.Group;

    /// <summary>Packs a query tile for a kernel's tile list.</summary>
    public static int PackTile(int firstRow, int rowCount)
    {
        if (rowCount <= 0 || rowCount >= 1 << RowCountBits || firstRow < 0 || firstRow >= 1 << (31 - RowCountBits))
        {
            throw new ArgumentOutOfRangeException(nameof(rowCount), $"a tile of {rowCount} rows at row {firstRow} does not pack into {RowCountBits} count bits");
        }

        return (firstRow << RowCountBits) | rowCount;
    }

    /// <summary>The first row and row count of a packed tile.</summary>
    public static (int FirstRow, int Rows) Unpack(int tile) => (tile >> RowCountBits, tile & ((1 << RowCountBits) - 1));

    /// <summary>The shape's defines plus the tile constants a kernel of <paramref name="querySlots"/> slots is built with.</summary>
    public static IReadOnlyDictionary<string, int> Defines(AttentionShape shape, int querySlots)
        => new Dictionary<string, int>(shape.Defines) { ["QUERY_SLOTS"] = querySlots, ["TILE_ROW_BITS"] = RowCountBits };

    /// <summary>
    /// Writes the tiles of one slice (rows <paramref name="tokenStart"/> .. + <paramref name="tokenCount"/>) of
    /// <paramref name="rowsPerTile"/> rows each, the last one ragged; returns how many it wrote.
    /// </summary>
    public static int WriteTiles(Span<int> tiles, int tokenStart, int tokenCount, int rowsPerTile)
    {
        var count = 0;
        for (var first = 0; first < tokenCount; first += rowsPerTile)
        {
            tiles[count++] = PackTile(tokenStart + first, Math.Min(rowsPerTile, tokenCount - first));
        }

        return count;
    }
}
