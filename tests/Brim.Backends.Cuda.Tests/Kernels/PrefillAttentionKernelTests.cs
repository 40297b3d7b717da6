using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;

namespace Brim.Backends.Cuda.Tests.Kernels;

public class PrefillAttentionKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(32, 8, 128, false)]
    [InlineData(14, 2, 64, false)]
    [InlineData(4, 1, 32, false)]
    [InlineData(4, 4, 16, false)]
    [InlineData(32, 8, 128, true)]
    [InlineData(14, 2, 64, true)]
    [InlineData(4, 4, 16, true)]
    public void Run_RaggedCausalSlicesThroughShuffledBlocks_MatchesReference(int heads, int kvHeads, int headDim, bool fp8)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var shape = new AttentionShape(heads, kvHeads, headDim, false, fp8);
        Assert.SkipWhen(fp8 && gpu.Device.ComputeCapability < CudaBackend.MinFp8ComputeCapability, "FP8 needs sm_89+");
        Assert.SkipUnless(PrefillAttentionKernel.Supports(shape, gpu.Device.ComputeCapability), $"{shape} unsupported on sm_{gpu.Device.ComputeCapability}");
        using var kernel = new PrefillAttentionKernel(gpu.Device, gpu.Compiler, shape);
        const int blockSize = 16, numBlocks = 64;

        // Slices (start position, tokens): a fresh prompt, a chunk continuing a cached prefix, a decode row, a prompt
        // longer than a tile with a ragged last tile, and a one-token prompt.
        (int Start, int Tokens)[] slices = [(0, 37), (50, 21), (90, 1), (0, 70), (0, 1)];
        var rows = slices.Sum(s => s.Tokens);
        var keyImage = KvCacheImage.Build(Bf16.Random(random, numBlocks * blockSize * shape.KvDim, 4f), shape, numBlocks, blockSize);
        var valueImage = KvCacheImage.Build(Bf16.Random(random, numBlocks * blockSize * shape.KvDim, 0.5f), shape, numBlocks, blockSize);
        var (keys, values) = (keyImage.Values, valueImage.Values);
        var qkv = Bf16.Random(random, rows * shape.QkvDim, 2f);
        var blocks = Enumerable.Range(0, numBlocks).OrderBy(_ => random.Next()).ToArray();
        var tables = new List<int>();
        var rowTable = new int[rows];
        var rowContext = new int[rows];
        var tiles = new List<int>();
        int row = 0, nextBlock = 0;
        foreach (var (start, tokens) in slices)
        {
            var tableAt = tables.Count;
            var needed = (start + tokens + blockSize - 1) / blockSize;
            tables.AddRange(blocks.Skip(nextBlock).Take(needed));
            nextBlock += needed;
            for (var first = 0; first < tokens; first += kernel.RowsPerTile)
            {
                tiles.Add(PrefillAttentionKernel.PackTile(row + first, Math.Min(kernel.RowsPerTile, tokens - first)));
            }

            for (var j = 0; j < tokens; j++, row++)
            {
                rowTable[row] = tableAt;
                rowContext[row] = start + j + 1;
            }
        }

        using var dK = gpu.Upload<byte>(keyImage.Bytes);
        using var dV = gpu.Upload<byte>(valueImage.Bytes);
        using var dQkv = gpu.Upload<ushort>(Bf16.ToBits(qkv));
        using var dTables = gpu.Upload<int>(tables.ToArray());
        using var dContext = gpu.Upload<int>(rowContext);
        using var dOffsets = gpu.Upload<int>(rowTable);
        using var dTiles = gpu.Upload<int>(tiles.ToArray());
        using var dOut = gpu.Allocate<ushort>(rows * shape.QueryDim);
        kernel.Run(gpu.Stream, dQkv.Pointer, dK.Pointer, dV.Pointer, dTables.Pointer, dContext.Pointer, dOffsets.Pointer, dTiles.Pointer, tiles.Count, blockSize, dOut.Pointer);
        var actual = Bf16.FromBits(gpu.Download<ushort>(dOut, rows * shape.QueryDim));

        var expected = new float[rows * shape.QueryDim];
        for (var r = 0; r < rows; r++)
        {
            for (var kh = 0; kh < kvHeads; kh++)
            {
                float[] Row(float[] cache, int p)
                {
                    var block = tables[rowTable[r] + (p / blockSize)];
                    var start = (((block * kvHeads) + kh) * blockSize + (p % blockSize)) * headDim;
                    return cache.AsSpan(start, headDim).ToArray();
                }

                var k = Enumerable.Range(0, rowContext[r]).Select(p => Row(keys, p)).ToArray();
                var v = Enumerable.Range(0, rowContext[r]).Select(p => Row(values, p)).ToArray();
                for (var g = 0; g < shape.Group; g++)
                {
                    var h = (kh * shape.Group) + g;
                    KernelReferences.Attend(qkv.AsSpan((r * shape.QkvDim) + (h * headDim), headDim), k, v, rowContext[r], expected.AsSpan((r * shape.QueryDim) + (h * headDim), headDim));
                }
            }
        }

        // bf16 probabilities feed the P·V product (as in flash attention): a little looser than the fp32 paged kernel.
        Compare.Close(actual, expected, 1.5e-2, $"prefill attention {shape} (seed {seed})");
    }

    [Theory]
    [InlineData(32, 8, 128, 90, true)]
    [InlineData(14, 2, 64, 80, true)]
    [InlineData(8, 4, 8, 90, false)]
    [InlineData(32, 8, 256, 90, false)]
    [InlineData(32, 8, 128, 75, false)]
    public void Supports_ShapesAndArchitectures_MatchTheKernelsLimits(int heads, int kvHeads, int headDim, int sm, bool expected)
        => Assert.Equal(expected, PrefillAttentionKernel.Supports(new AttentionShape(heads, kvHeads, headDim, false), sm));
}
