using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;

namespace Brim.Backends.Cuda.Tests.Kernels;

/// <summary>Embedding gather, fused add + RMSNorm and SwiGLU against their CPU twins.</summary>
public class RowKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Fact]
    public void Gather_TokenIds_CopiesRowsExactly()
    {
        var random = new Random(Gpu.NewSeed());
        using var kernel = new EmbeddingKernel(gpu.Device, gpu.Compiler);
        const int vocab = 50, hidden = 96;
        var table = Bf16.Random(random, vocab * hidden);
        int[] ids = [3, 49, 0, 3, 17];
        using var dTable = gpu.Upload<ushort>(Bf16.ToBits(table));
        using var dIds = gpu.Upload<int>(ids);
        using var dX = gpu.Allocate<float>(ids.Length * hidden);
        kernel.Gather(gpu.Stream, dTable.Pointer, dIds.Pointer, dX.Pointer, ids.Length, hidden, 0, vocab);
        var x = gpu.Download<float>(dX, ids.Length * hidden);
        for (var t = 0; t < ids.Length; t++)
        {
            Assert.Equal(table.AsSpan(ids[t] * hidden, hidden).ToArray(), x.AsSpan(t * hidden, hidden).ToArray());
        }
    }

    /// <summary>A tensor-parallel rank's slice of the vocabulary (ids 20..34 as rows 0..14): its ids copy their rows, every other id embeds to zeros.</summary>
    [Fact]
    public void Gather_VocabularySlice_CopiesItsIdsAndZeroesTheRest()
    {
        Gpu.Require();
        var random = new Random(Gpu.NewSeed());
        using var kernel = new EmbeddingKernel(gpu.Device, gpu.Compiler);
        const int first = 20, rows = 15, hidden = 72;
        var table = Bf16.Random(random, rows * hidden);
        int[] ids = [19, 20, 34, 35, 0, 27];
        using var dTable = gpu.Upload<ushort>(Bf16.ToBits(table));
        using var dIds = gpu.Upload<int>(ids);
        using var dX = gpu.Upload<float>(Enumerable.Repeat(7f, ids.Length * hidden).ToArray());
        kernel.Gather(gpu.Stream, dTable.Pointer, dIds.Pointer, dX.Pointer, ids.Length, hidden, first, rows);
        var x = gpu.Download<float>(dX, ids.Length * hidden);
        for (var t = 0; t < ids.Length; t++)
        {
            var row = ids[t] - first;
            var want = row is >= 0 and < rows ? table.AsSpan(row * hidden, hidden).ToArray() : new float[hidden];
            Assert.Equal(want, x.AsSpan(t * hidden, hidden).ToArray());
        }
    }

    [Theory]
    [InlineData(4096, false)]
    [InlineData(4096, true)]
    [InlineData(64, false)]
    [InlineData(896, true)]
    public void AddRmsNorm_RowsWithDeltaAndRowMap_MatchesReference(int hidden, bool withRowMap)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new RmsNormKernel(gpu.Device, gpu.Compiler);
        const int rows = 7;
        var x = Enumerable.Range(0, rows * hidden).Select(_ => (random.NextSingle() * 6) - 3).ToArray();
        var delta = Bf16.Random(random, rows * hidden);
        var weight = Bf16.Random(random, hidden, 2f);
        int[] map = withRowMap ? [6, 2, 0] : [.. Enumerable.Range(0, rows)];
        using var dX = gpu.Upload<float>(x);
        using var dDelta = gpu.Upload<ushort>(Bf16.ToBits(delta));
        using var dWeight = gpu.Upload<ushort>(Bf16.ToBits(weight));
        using var dMap = gpu.Upload<int>(map);
        using var dOut = gpu.Allocate<ushort>(map.Length * hidden);
        kernel.AddRmsNorm(gpu.Stream, dX.Pointer, dDelta.Pointer, dWeight.Pointer, dOut.Pointer, withRowMap ? dMap.Pointer : 0, map.Length, hidden, 1e-5f);
        var actual = Bf16.FromBits(gpu.Download<ushort>(dOut, map.Length * hidden));
        var residual = gpu.Download<float>(dX, rows * hidden);

        var gathered = map.SelectMany(r => x.AsSpan(r * hidden, hidden).ToArray()).ToArray();
        var gatheredDelta = map.SelectMany(r => delta.AsSpan(r * hidden, hidden).ToArray()).ToArray();
        var expected = KernelReferences.AddRmsNorm(gathered, gatheredDelta, weight, map.Length, hidden, 1e-5f);
        Compare.Close(actual, expected, 5e-3, $"rmsnorm output (seed {seed})");
        for (var i = 0; i < map.Length; i++)
        {
            Compare.Close(residual.AsSpan(map[i] * hidden, hidden), gathered.AsSpan(i * hidden, hidden), 1e-6, $"residual row {map[i]} (seed {seed})");
        }
    }

    [Fact]
    public void SiluMul_GateUpRows_MatchesReference()
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new SwiGluKernel(gpu.Device, gpu.Compiler);
        const int tokens = 5, ff = 1000;
        var gateUp = Bf16.Random(random, tokens * 2 * ff, 4f);
        using var dIn = gpu.Upload<ushort>(Bf16.ToBits(gateUp));
        using var dOut = gpu.Allocate<ushort>(tokens * ff);
        kernel.Apply(gpu.Stream, dIn.Pointer, dOut.Pointer, tokens, ff);
        Compare.Close(Bf16.FromBits(gpu.Download<ushort>(dOut, tokens * ff)), KernelReferences.SiluMul(gateUp, tokens, ff), 5e-3, $"swiglu (seed {seed})");
    }
}
