using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cpu.Tests;

/// <summary>What the engine may rely on beyond the numbers: sizes and clear errors.</summary>
public sealed class CpuBackendContractTests : IDisposable
{
    private const int BlockSize = 4;
    private readonly LoadedModel _model = TestModels.Random(TestModels.Llama31);
    private readonly CpuBackend _backend;

    public CpuBackendContractTests() => _backend = CpuBackend.Create(_model, new CpuBackendOptions { ThreadCount = 2 });

    public void Dispose()
    {
        _backend.Dispose();
        _model.Dispose();
    }

    [Fact]
    public void KvBytesPerBlock_Llama31Shape_CountsKeysAndValuesOfEveryLayer()
    {
        var c = TestModels.Llama31;
        Assert.Equal(2L * c.NumLayers * 16 * c.KvDim * sizeof(float), _backend.KvBytesPerBlock(16));
        Assert.False(_backend.SupportsDeviceSampling);
        Assert.Equal(c.VocabSize, _backend.VocabSize);
    }

    [Fact]
    public void AvailableKvCacheBytes_HigherUtilization_IsPositiveAndNotSmaller()
    {
        var half = _backend.AvailableKvCacheBytes(0.5);
        Assert.True(half > 0);
        Assert.True(_backend.AvailableKvCacheBytes(0.9) >= half);
        Assert.True(half < GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => _backend.AvailableKvCacheBytes(1.5));
    }

    [Fact]
    public void Forward_BeforeAllocateKvCache_Throws()
    {
        var error = Assert.Throws<InvalidOperationException>(() => _backend.Forward(Batch([1, 2], 0, [0]), new ForwardOutput(_backend.VocabSize)));
        Assert.Contains("AllocateKvCache", error.Message);
    }

    [Fact]
    public void Forward_TokenOutsideVocabulary_ThrowsNamingIt()
    {
        _backend.AllocateKvCache(4, BlockSize);
        var error = Assert.Throws<ArgumentException>(() => _backend.Forward(Batch([1, 999], 0, [0]), new ForwardOutput(_backend.VocabSize)));
        Assert.Contains("999", error.Message);
    }

    [Fact]
    public void Forward_BlockOutsideCache_ThrowsNamingIt()
    {
        _backend.AllocateKvCache(4, BlockSize);
        var error = Assert.Throws<ArgumentException>(() => _backend.Forward(Batch([1, 2], 3, [0, 7]), new ForwardOutput(_backend.VocabSize)));
        Assert.Contains("block 7", error.Message);
    }

    [Fact]
    public void Forward_PositionBeyondModel_Throws()
    {
        _backend.AllocateKvCache(40, BlockSize);
        var table = Enumerable.Range(0, 33).ToArray();
        Assert.Throws<ArgumentException>(() => _backend.Forward(Batch([1], TestModels.Llama31.MaxPositions, table), new ForwardOutput(_backend.VocabSize)));
    }

    [Fact]
    public void Forward_BlockSizeDiffersFromCache_Throws()
    {
        _backend.AllocateKvCache(4, 8);
        Assert.Throws<ArgumentException>(() => _backend.Forward(Batch([1], 0, [0]), new ForwardOutput(_backend.VocabSize)));
    }

    [Fact]
    public void Forward_NoSliceNeedsLogits_WritesNoRows()
    {
        _backend.AllocateKvCache(4, BlockSize);
        var output = new ForwardOutput(_backend.VocabSize);
        _backend.Forward(new ForwardBatch([1, 2, 3], [new SequenceSlice(0, 3, 0, new[] { 0 }, NeedsLogits: false)], BlockSize), output);
        Assert.Equal(0, output.Rows);
    }

    private static ForwardBatch Batch(int[] tokens, int start, int[] blocks) =>
        new(tokens, [new SequenceSlice(0, tokens.Length, start, blocks, NeedsLogits: true)], BlockSize);
}
