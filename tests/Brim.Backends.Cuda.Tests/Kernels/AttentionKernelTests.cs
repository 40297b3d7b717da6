using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;

namespace Brim.Backends.Cuda.Tests.Kernels;

public class AttentionKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(32, 8, 128, 1, true, false)]
    [InlineData(32, 8, 128, 1, false, false)]
    [InlineData(32, 8, 128, 4, true, false)]
    [InlineData(32, 8, 128, 4, false, false)]
    [InlineData(14, 2, 64, 2, true, false)]
    [InlineData(14, 2, 64, 1, false, false)]
    [InlineData(16, 2, 64, 3, true, false)]
    [InlineData(8, 4, 8, 1, false, false)]
    [InlineData(4, 4, 16, 8, false, false)]
    [InlineData(32, 8, 128, 1, true, true)]
    [InlineData(32, 8, 128, 4, true, true)]
    [InlineData(28, 4, 128, 2, true, true)]
    [InlineData(8, 8, 128, 1, true, true)]
    [InlineData(32, 8, 128, 2, false, true)]
    [InlineData(14, 2, 64, 2, true, true)]
    [InlineData(16, 2, 64, 1, false, true)]
    [InlineData(8, 4, 8, 1, false, true)]
    public void Run_RaggedRowsThroughShuffledBlocks_MatchesReference(int heads, int kvHeads, int headDim, int partitions, bool decodeKernel, bool fp8)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var shape = new AttentionShape(heads, kvHeads, headDim, false, fp8);
        Assert.SkipWhen(fp8 && gpu.Device.ComputeCapability < CudaBackend.MinFp8ComputeCapability, "FP8 needs sm_89+");
        using var kernel = new AttentionKernel(gpu.Device, gpu.Compiler, shape, preferDecodeKernel: decodeKernel);
        Assert.Equal(decodeKernel, kernel.UsesDecodeKernel);
        // 600 positions: each of the FP8 kernel's warps cycles its cp.async stages several times.
        const int blockSize = 16, numBlocks = 48;
        int[] contexts = [1, 37, 130, 0, 64, 600];
        var rows = contexts.Length;

        // Keys and values of a few magnitudes, so quantization scales differ per position and head.
        var keyImage = KvCacheImage.Build(Bf16.Random(random, numBlocks * blockSize * shape.KvDim, 4f), shape, numBlocks, blockSize);
        var valueImage = KvCacheImage.Build(Bf16.Random(random, numBlocks * blockSize * shape.KvDim, 0.5f), shape, numBlocks, blockSize);
        var (keys, values) = (keyImage.Values, valueImage.Values);
        var qkv = Bf16.Random(random, rows * shape.QkvDim, 2f);
        var blocks = Enumerable.Range(0, numBlocks).OrderBy(_ => random.Next()).ToArray();
        var tables = new List<int>();
        var offsets = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            offsets[r] = tables.Count;
            tables.AddRange(Enumerable.Range(0, (contexts[r] + blockSize - 1) / blockSize).Select(i => blocks[((r * 8) + i) % numBlocks]));
        }

        using var dK = gpu.Upload<byte>(keyImage.Bytes);
        using var dV = gpu.Upload<byte>(valueImage.Bytes);
        using var dQkv = gpu.Upload<ushort>(Bf16.ToBits(qkv));
        using var dTables = gpu.Upload<int>(tables.ToArray());
        using var dContext = gpu.Upload<int>(contexts);
        using var dOffsets = gpu.Upload<int>(offsets);
        using var dOut = gpu.Allocate<ushort>(rows * shape.QueryDim);
        using var dPartial = gpu.Allocate<float>(AttentionKernel.PartialFloats(shape));
        kernel.Run(gpu.Stream, dQkv.Pointer, dK.Pointer, dV.Pointer, dTables.Pointer, dContext.Pointer, dOffsets.Pointer, rows, blockSize, partitions, dOut.Pointer, dPartial.Pointer);
        var actual = Bf16.FromBits(gpu.Download<ushort>(dOut, rows * shape.QueryDim));

        var expected = new float[rows * shape.QueryDim];
        for (var r = 0; r < rows; r++)
        {
            for (var kh = 0; kh < kvHeads; kh++)
            {
                float[] Row(float[] cache, int p)
                {
                    var block = tables[offsets[r] + (p / blockSize)];
                    var start = (((block * kvHeads) + kh) * blockSize + (p % blockSize)) * headDim;
                    return cache.AsSpan(start, headDim).ToArray();
                }

                var k = Enumerable.Range(0, contexts[r]).Select(p => Row(keys, p)).ToArray();
                var v = Enumerable.Range(0, contexts[r]).Select(p => Row(values, p)).ToArray();
                for (var g = 0; g < shape.Group; g++)
                {
                    var h = (kh * shape.Group) + g;
                    KernelReferences.Attend(qkv.AsSpan((r * shape.QkvDim) + (h * headDim), headDim), k, v, contexts[r], expected.AsSpan((r * shape.QueryDim) + (h * headDim), headDim));
                }
            }
        }

        Compare.Close(actual, expected, 1e-2, $"attention {shape} partitions {partitions} decode kernel {decodeKernel} (seed {seed})");
    }

    [Theory]
    [InlineData(32, 8, 128, true)]
    [InlineData(64, 8, 128, false)]
    [InlineData(14, 2, 64, true)]
    [InlineData(8, 4, 8, false)]
    [InlineData(32, 8, 256, false)]
    public void DecodeKernelSupports_Shapes_OnlyWhatFitsItsRegisters(int heads, int kvHeads, int headDim, bool expected)
        => Assert.Equal(expected, AttentionKernel.DecodeKernelSupports(new AttentionShape(heads, kvHeads, headDim, false)));

    [Theory]
    [InlineData(32, 8, 128, true, 90, true)]
    [InlineData(28, 4, 128, true, 89, true)]
    [InlineData(32, 8, 128, false, 90, false)]
    [InlineData(14, 2, 64, true, 90, false)]
    [InlineData(72, 8, 128, true, 90, false)]
    [InlineData(32, 8, 128, true, 86, false)]
    public void TensorCoreFp8Supports_Shapes_Fp8HeadDim128AtMostEightQueriesSm89(int heads, int kvHeads, int headDim, bool fp8, int sm, bool expected)
        => Assert.Equal(expected, AttentionKernel.TensorCoreFp8Supports(new AttentionShape(heads, kvHeads, headDim, false, fp8), sm));

    [Theory]
    [InlineData(1, 8, 256, 132, 8)]
    [InlineData(64, 8, 256, 132, 1)]
    [InlineData(1, 8, 10, 132, 1)]
    [InlineData(4000, 8, 4096, 132, 1)]
    public void ChoosePartitions_Shapes_PowerOfTwoWithinBudget(int rows, int kvHeads, int context, int sms, int expected)
        => Assert.Equal(expected, AttentionKernel.ChoosePartitions(rows, kvHeads, context, sms));

    /// <summary>
    /// The FP8 kernel's targets pick the partition count that measured fastest on an H100 (bench-attention, 132 SMs, 8 KV
    /// heads; docs/benchmarks.md): 8 / 16 / 32 at one row of 1,024 / 2,048 / 8,192 positions, 4 at 8 rows, 1 from 32 rows.
    /// </summary>
    [Theory]
    [InlineData(1, 1024, 8)]
    [InlineData(1, 2048, 16)]
    [InlineData(1, 8192, 32)]
    [InlineData(8, 1024, 4)]
    [InlineData(8, 8192, 4)]
    [InlineData(32, 1024, 1)]
    [InlineData(32, 8192, 1)]
    [InlineData(256, 1024, 1)]
    public void ChoosePartitions_Fp8Kernel_TheCountMeasuredBest(int rows, int context, int expected)
        => Assert.Equal(expected, AttentionKernel.ChoosePartitions(
            rows, 8, context, 132, AttentionKernel.DecodeCtasPerMultiprocessor, AttentionKernel.Fp8MinPositionsPerPartition));
}
