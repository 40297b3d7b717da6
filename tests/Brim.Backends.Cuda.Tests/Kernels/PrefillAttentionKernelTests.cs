using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>
/// Both tensor-core prefill attention kernels against the CPU reference on random inputs: each kernel on every slice of
/// a ragged step (tiles cut with its own rows per tile), and the step as the backend runs it (StepMetadata cuts the
/// tiles and picks the kernel per slice, both kernels launch over their parts of one tile list).
/// </summary>
public class PrefillAttentionKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    public enum Variant
    {
        /// <summary>prefill_attention.cu on every slice.</summary>
        Small,

        /// <summary>prefill_attention_long.cu on every slice.</summary>
        Long,

        /// <summary>Tiles and kernels as StepMetadata chooses them for the step.</summary>
        Step,
    }

    private const int BlockSize = 16;

    public static TheoryData<Variant, int, int, int, bool> Cases()
    {
        var data = new TheoryData<Variant, int, int, int, bool>();
        (int Heads, int KvHeads, int HeadDim)[] shapes =
        [
            (32, 8, 128), // Llama-3.1-8B: GQA 4
            (8, 8, 128),  // GQA 1: a long tile is 128 rows
            (16, 2, 128), // GQA 8
            (8, 2, 64),   // GQA 4, head_dim 64
            (14, 2, 64),  // GQA 7 (Qwen2-0.5B): 128 slots hold 18 rows, two slots unused
            (8, 1, 64),   // GQA 8, head_dim 64
            (4, 4, 64),   // GQA 1, head_dim 64
        ];
        foreach (var variant in Enum.GetValues<Variant>())
        {
            foreach (var fp8 in new[] { false, true })
            {
                foreach (var (heads, kvHeads, headDim) in shapes)
                {
                    data.Add(variant, heads, kvHeads, headDim, fp8);
                }
            }
        }

        // Shapes only the small-tile kernel serves (head_dim not a multiple of 32).
        data.Add(Variant.Small, 4, 4, 16, false);
        data.Add(Variant.Small, 4, 4, 16, true);
        data.Add(Variant.Small, 4, 1, 32, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_RaggedCausalSlicesThroughShuffledBlocks_MatchesReference(Variant variant, int heads, int kvHeads, int headDim, bool fp8)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var shape = new AttentionShape(heads, kvHeads, headDim, false, fp8);
        var sm = gpu.Device.ComputeCapability;
        Assert.SkipWhen(fp8 && sm < CudaBackend.MinFp8ComputeCapability, "FP8 needs sm_89+");
        Assert.SkipUnless(PrefillAttentionKernel.Supports(shape, sm), $"{shape} unsupported on sm_{sm}");
        Assert.SkipWhen(variant == Variant.Long && !LongPrefillAttentionKernel.Supports(shape, sm), $"{shape}: no long-tile kernel on sm_{sm}");
        using var small = new PrefillAttentionKernel(gpu.Device, gpu.Compiler, shape);
        using var longKernel = LongPrefillAttentionKernel.Supports(shape, sm) ? new LongPrefillAttentionKernel(gpu.Device, gpu.Compiler, shape) : null;
        var tiling = new PrefillTiling(small.RowsPerTile, longKernel?.RowsPerTile ?? 0);
        var rowsPerTile = variant == Variant.Long ? longKernel!.RowsPerTile : small.RowsPerTile;

        // Slices (start position, tokens), a chunk first so the Step variant tiles every row (a leading decode row would
        // go to the decode kernel): a fresh prompt of two tiles and a ragged third; a chunk continuing a cached prefix
        // that ends mid-block; a decode row; a long chunk starting mid-sequence whose context spans several 64-key K/V
        // tiles and ends ragged; a one-token prompt; a prompt of exactly two long tiles; a chunk of one tile plus one row.
        var longRows = Math.Max(PrefillTiling.LongMinRows, tiling.LongRowsPerTile);
        (int Start, int Tokens)[] slices =
        [
            (0, (2 * rowsPerTile) + 1 + random.Next(rowsPerTile - 1)),
            (40 + random.Next(24), 21),
            (90 + random.Next(30), 1),
            (130 + random.Next(40), longRows + 7 + random.Next(40)),
            (0, 1),
            (0, 2 * Math.Max(rowsPerTile, tiling.LongRowsPerTile)),
            (3 + random.Next(60), rowsPerTile + 1),
        ];
        var rows = slices.Sum(s => s.Tokens);
        var numBlocks = slices.Sum(s => (s.Start + s.Tokens + BlockSize - 1) / BlockSize) + 3;
        var keyImage = KvCacheImage.Build(Bf16.Random(random, numBlocks * BlockSize * shape.KvDim, 4f), shape, numBlocks, BlockSize);
        var valueImage = KvCacheImage.Build(Bf16.Random(random, numBlocks * BlockSize * shape.KvDim, 0.5f), shape, numBlocks, BlockSize);
        var qkv = Bf16.Random(random, rows * shape.QkvDim, 2f);
        var blocks = Enumerable.Range(0, numBlocks).OrderBy(_ => random.Next()).ToArray();
        var batchSlices = new SequenceSlice[slices.Length];
        int row = 0, nextBlock = 0;
        for (var i = 0; i < slices.Length; i++)
        {
            var (start, tokens) = slices[i];
            var needed = (start + tokens + BlockSize - 1) / BlockSize;
            batchSlices[i] = new SequenceSlice(row, tokens, start, blocks.AsMemory(nextBlock, needed), NeedsLogits: true);
            nextBlock += needed;
            row += tokens;
        }

        // The step's metadata as the backend writes it: block tables, per-row context and table offsets, and (for Step)
        // the tiles, small then long.
        var batch = new ForwardBatch(new int[rows], batchSlices, BlockSize);
        var layout = new StepLayout(new StepCapacity(rows, rows, StepMetadata.BlockTableEntries(batch)));
        var meta = new int[layout.TotalInts];
        var (_, smallTiles, longTiles, decodeRows, _) = StepMetadata.Write(batch, meta, layout, rows, batch.LogitRows, numBlocks, 1, variant == Variant.Step ? tiling : PrefillTiling.None);
        Assert.Equal(0, decodeRows);
        if (variant != Variant.Step)
        {
            // Every slice cut with this variant's rows per tile, all for one kernel.
            smallTiles = 0;
            foreach (var s in batchSlices)
            {
                smallTiles += PrefillTiling.WriteTiles(meta.AsSpan(layout.QueryTiles + smallTiles), s.TokenStart, s.TokenCount, rowsPerTile);
            }

            (smallTiles, longTiles) = variant == Variant.Long ? (0, smallTiles) : (smallTiles, 0);
        }
        else
        {
            Assert.True(longKernel is null || longTiles > 0, "the step's long chunks should take long tiles");
        }

        using var dK = gpu.Upload<byte>(keyImage.Bytes);
        using var dV = gpu.Upload<byte>(valueImage.Bytes);
        using var dQkv = gpu.Upload<ushort>(Bf16.ToBits(qkv));
        using var dMeta = gpu.Upload<int>(meta);
        using var dOut = gpu.Allocate<ushort>(rows * shape.QueryDim);
        ulong At(int index) => dMeta.Pointer + ((ulong)index * sizeof(int));
        if (smallTiles > 0)
        {
            small.Run(gpu.Stream, dQkv.Pointer, dK.Pointer, dV.Pointer, At(layout.BlockTables), At(layout.RowContext), At(layout.RowTableOffset), At(layout.QueryTiles), smallTiles, BlockSize, dOut.Pointer);
        }

        if (longTiles > 0)
        {
            longKernel!.Run(gpu.Stream, dQkv.Pointer, dK.Pointer, dV.Pointer, At(layout.BlockTables), At(layout.RowContext), At(layout.RowTableOffset), At(layout.QueryTiles + smallTiles), longTiles, BlockSize, dOut.Pointer);
        }

        var actual = Bf16.FromBits(gpu.Download<ushort>(dOut, rows * shape.QueryDim));
        var expected = Reference(shape, qkv, keyImage.Values, valueImage.Values, meta, layout, rows);

        // bf16 probabilities feed the P·V product (as in flash attention): a little looser than the fp32 paged kernel.
        // Row by row, so one wrong (or unwritten: the output starts as NaN) row cannot hide in the whole's norm.
        for (var r = 0; r < rows; r++)
        {
            Compare.Close(
                actual.AsSpan(r * shape.QueryDim, shape.QueryDim), expected.AsSpan(r * shape.QueryDim, shape.QueryDim), 2e-2,
                $"{variant} prefill attention {shape}, row {r} of {rows} (context {meta[layout.RowContext + r]}; seed {seed})");
        }

        Compare.Close(actual, expected, 1.5e-2, $"{variant} prefill attention {shape} (seed {seed})");
    }

    [Theory]
    [InlineData(32, 8, 128, 90, true)]
    [InlineData(14, 2, 64, 80, true)]
    [InlineData(8, 4, 8, 90, false)]
    [InlineData(32, 8, 256, 90, false)]
    [InlineData(32, 8, 128, 75, false)]
    public void Supports_ShapesAndArchitectures_MatchTheKernelsLimits(int heads, int kvHeads, int headDim, int sm, bool expected)
        => Assert.Equal(expected, PrefillAttentionKernel.Supports(new AttentionShape(heads, kvHeads, headDim, false), sm));

    [Theory]
    [InlineData(32, 8, 128, false, 90, true)]
    [InlineData(32, 8, 128, true, 89, true)]
    [InlineData(14, 2, 64, false, 80, true)]
    [InlineData(4, 1, 32, false, 80, true)]
    [InlineData(4, 4, 16, false, 90, false)] // head_dim not a multiple of 32
    [InlineData(32, 8, 256, false, 90, false)]
    [InlineData(32, 8, 128, false, 75, false)]
    public void LongSupports_ShapesAndArchitectures_MatchTheKernelsLimits(int heads, int kvHeads, int headDim, bool fp8, int sm, bool expected)
        => Assert.Equal(expected, LongPrefillAttentionKernel.Supports(new AttentionShape(heads, kvHeads, headDim, false, fp8), sm));

    [Theory]
    [InlineData(128, false, 69_632)] // two stages of K and V: 4 x 64 x 136 x 2
    [InlineData(128, true, 68_608)]  // one bf16 K/V pair + two raw stages of 2 x 64 x (128 + 4)
    [InlineData(64, false, 36_864)]
    public void SharedBytes_HeadDim_MatchesTheKernelsLayout(int headDim, bool fp8, int expected)
        => Assert.Equal(expected, LongPrefillAttentionKernel.SharedBytes(new AttentionShape(8, 2, headDim, false, fp8)));

    private static float[] Reference(AttentionShape shape, float[] qkv, float[] keys, float[] values, int[] meta, StepLayout layout, int rows)
    {
        var expected = new float[rows * shape.QueryDim];
        var blockTables = meta.AsSpan(layout.BlockTables).ToArray();

        // A slice's rows share its table: gather each (table, KV head)'s K/V once, long enough for its last row.
        var gathered = new Dictionary<(int Table, int KvHead), (float[][] K, float[][] V)>();
        for (var r = rows - 1; r >= 0; r--)
        {
            var context = meta[layout.RowContext + r];
            var tableAt = meta[layout.RowTableOffset + r];
            for (var kh = 0; kh < shape.NumKvHeads; kh++)
            {
                if (!gathered.TryGetValue((tableAt, kh), out var kv))
                {
                    float[] Row(float[] cache, int p)
                    {
                        var block = blockTables[tableAt + (p / BlockSize)];
                        var start = (((block * shape.NumKvHeads) + kh) * BlockSize + (p % BlockSize)) * shape.HeadDim;
                        return cache.AsSpan(start, shape.HeadDim).ToArray();
                    }

                    kv = (Enumerable.Range(0, context).Select(p => Row(keys, p)).ToArray(), Enumerable.Range(0, context).Select(p => Row(values, p)).ToArray());
                    gathered[(tableAt, kh)] = kv;
                }

                Assert.True(kv.K.Length >= context, "rows of a slice are laid out in position order");
                for (var g = 0; g < shape.Group; g++)
                {
                    var h = (kh * shape.Group) + g;
                    KernelReferences.Attend(qkv.AsSpan((r * shape.QkvDim) + (h * shape.HeadDim), shape.HeadDim), kv.K, kv.V, context, expected.AsSpan((r * shape.QueryDim) + (h * shape.HeadDim), shape.HeadDim));
                }
            }
        }

        return expected;
    }
}
