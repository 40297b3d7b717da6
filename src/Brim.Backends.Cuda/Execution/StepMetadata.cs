using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// Writes a <see cref="ForwardBatch"/> into the flat int32 metadata of a <see cref="StepLayout"/>, validating it on
/// the way (token ids, block ids), and padding token rows up to <c>paddedTokens</c> for bucketed CUDA graphs:
/// padded rows read token 0, write no K/V (slot -1), attend to nothing (context 0) and are their own logit rows.
/// </summary>
internal static class StepMetadata
{
    /// <summary>Block-table entries a batch needs (sum over slices).</summary>
    public static int BlockTableEntries(ForwardBatch batch)
    {
        var total = 0;
        foreach (var s in batch.Slices)
        {
            total += s.BlockTable.Length;
        }

        return total;
    }

    /// <summary>
    /// Fills <paramref name="meta"/>; returns the longest attention context, the query tiles written for the small-tile
    /// and the long-tile prefill kernels (cut per slice as <paramref name="tiling"/> chooses, each tile rows of one slice;
    /// none when tiling is disabled), the leading decode rows left out of the tiles, and the ints to copy. The small
    /// tiles come first in <see cref="StepLayout.QueryTiles"/>, the long ones right after them. With tiles, the leading
    /// run of one-token slices (the scheduler puts decode tokens first) is not tiled: those rows go to the decode
    /// attention kernel, which reads a long context several times faster than a tensor-core tile holding one row.
    /// </summary>
    public static (int MaxContext, int QueryTiles, int LongQueryTiles, int DecodeRows, int UsedInts) Write(
        ForwardBatch batch, Span<int> meta, StepLayout layout, int paddedTokens, int paddedLogitRows, int numBlocks, int vocabSize, Kernels.PrefillTiling tiling = default)
    {
        var tokens = batch.TokenCount;
        if (paddedTokens < tokens || paddedLogitRows < batch.LogitRows || !layout.Capacity.Holds(paddedTokens, paddedLogitRows, BlockTableEntries(batch)))
        {
            throw new InvalidOperationException($"a step of {tokens} tokens (padded {paddedTokens}) does not fit capacity {layout.Capacity}");
        }

        var ids = meta.Slice(layout.TokenIds, paddedTokens);
        var positions = meta.Slice(layout.Positions, paddedTokens);
        var slots = meta.Slice(layout.Slots, paddedTokens);
        var context = meta.Slice(layout.RowContext, paddedTokens);
        var tableOffset = meta.Slice(layout.RowTableOffset, paddedTokens);
        var logitTokens = meta.Slice(layout.LogitRowTokens, paddedLogitRows);
        var sampling = System.Runtime.InteropServices.MemoryMarshal.Cast<int, float>(meta.Slice(layout.Sampling, StepLayout.SamplingFloatsPerRow * paddedLogitRows));
        var tables = meta[layout.BlockTables..];
        var queryTiles = meta.Slice(layout.QueryTiles, paddedTokens);

        var blockSize = batch.BlockSize;
        int tableAt = 0, logitRow = 0, maxContext = 0, tileCount = 0, decodeRows = 0;
        foreach (var slice in batch.Slices)
        {
            var leadingDecodeRow = tiling.Enabled && slice.TokenCount == 1 && slice.TokenStart == decodeRows && tileCount == 0;
            decodeRows += leadingDecodeRow ? 1 : 0;
            var table = slice.BlockTable.Span;
            for (var b = 0; b < table.Length; b++)
            {
                if ((uint)table[b] >= (uint)numBlocks)
                {
                    throw new ArgumentException($"block {table[b]} of slice at token {slice.TokenStart} is outside the KV cache of {numBlocks} blocks");
                }

                tables[tableAt + b] = table[b];
            }

            for (var j = 0; j < slice.TokenCount; j++)
            {
                var t = slice.TokenStart + j;
                var id = batch.TokenIds[t];
                if ((uint)id >= (uint)vocabSize)
                {
                    throw new ArgumentException($"token id {id} at batch position {t} is outside the vocabulary of {vocabSize}");
                }

                var position = slice.StartPosition + j;
                ids[t] = id;
                positions[t] = position;
                slots[t] = (table[position / blockSize] * blockSize) + (position % blockSize);
                context[t] = position + 1;
                tableOffset[t] = tableAt;
            }

            // Tiles never cross a slice: all rows of a tile share its block table. Long tiles are written after the loop.
            if (tiling.Enabled && !leadingDecodeRow && !tiling.UsesLongTiles(slice.TokenCount))
            {
                tileCount += Kernels.PrefillTiling.WriteTiles(queryTiles[tileCount..], slice.TokenStart, slice.TokenCount, tiling.SmallRowsPerTile);
            }

            maxContext = Math.Max(maxContext, slice.ContextLength);
            // A slice verifying draft tokens gathers a logit row for each of its last 1 + k tokens.
            for (var t = slice.FirstLogitToken; t < slice.TokenStart + slice.TokenCount; t++)
            {
                logitTokens[logitRow++] = t;
            }

            tableAt += table.Length;
        }

        var longTileCount = 0;
        foreach (var slice in batch.Slices)
        {
            if (tiling.Enabled && tiling.UsesLongTiles(slice.TokenCount))
            {
                longTileCount += Kernels.PrefillTiling.WriteTiles(queryTiles[(tileCount + longTileCount)..], slice.TokenStart, slice.TokenCount, tiling.LongRowsPerTile);
            }
        }

        for (var t = tokens; t < paddedTokens; t++)
        {
            ids[t] = 0;
            positions[t] = 0;
            slots[t] = -1;
            context[t] = 0;
            tableOffset[t] = 0;
        }

        for (var r = logitRow; r < paddedLogitRows; r++)
        {
            logitTokens[r] = Math.Min(r, paddedTokens - 1);
        }

        for (var r = 0; r < paddedLogitRows; r++)
        {
            var row = batch.DeviceSampling is { } rows && r < rows.Length ? rows[r] : default;
            var p = sampling.Slice(r * StepLayout.SamplingFloatsPerRow, StepLayout.SamplingFloatsPerRow);
            p[0] = row.Temperature;
            p[1] = row.TopK;
            p[2] = row.TopP;
            p[3] = row.MinP;
            p[4] = row.Uniform;
            p[5] = row.WantsLogprobs ? row.TopLogprobs!.Value : -1; // a padding row (default) wants none
        }

        return (maxContext, tileCount, longTileCount, decodeRows, layout.BlockTables + tableAt);
    }
}
