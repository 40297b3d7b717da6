using Brim.Backends.Cpu.KvCache;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cpu.Tests;

/// <summary>
/// The CPU swap space: K/V swapped out, its cache blocks overwritten by another sequence, swapped back into other
/// blocks, continues exactly (bitwise) as if nothing had happened, in the float32 and the int8 format (data and scales).
/// </summary>
public sealed class CpuKvSwapSpaceTests : IDisposable
{
    private const int BlockSize = 4;
    private readonly LoadedModel _model = TestModels.Random(TestModels.Llama31);
    private CpuBackend _backend;

    public CpuKvSwapSpaceTests() => _backend = CpuBackend.Create(_model, new CpuBackendOptions { ThreadCount = 2 });

    public void Dispose()
    {
        _backend.Dispose();
        _model.Dispose();
    }

    [Theory]
    [InlineData(KvCacheDType.Auto)]
    [InlineData(KvCacheDType.Int8)]
    public void SwapOutClobberSwapIn_Continuation_MatchesUnpreemptedRunBitwise(KvCacheDType kvCacheDType)
    {
        _backend.Dispose();
        _backend = CpuBackend.Create(_model, new CpuBackendOptions { ThreadCount = 2, KvCacheDType = kvCacheDType });
        var random = new Random(11);
        var prompt = TestModels.RandomTokens(random, 10, TestModels.Llama31.VocabSize);
        var continuation = TestModels.RandomTokens(random, 6, TestModels.Llama31.VocabSize);
        var swap = _backend.SwapSpace;
        Assert.Equal(0, swap.DefaultBytes);
        Assert.True(double.IsPositiveInfinity(swap.CopyBytesPerSecond));
        swap.Allocate(8, BlockSize);
        _backend.AllocateKvCache(16, BlockSize);

        // Unpreempted: prompt and continuation in blocks 0..3.
        var expected = Run(prompt, continuation, [0, 1, 2, 3], [0, 1, 2, 3], preempt: null);

        // Preempted: the prompt in blocks 4..6, out to swap blocks 5, 2, 7; another sequence overwrites 4..6; back in
        // 9, 12, 10 (and the continuation grows into 11).
        var actual = Run(prompt, continuation, [4, 5, 6], [9, 12, 10, 11], () =>
        {
            swap.SwapOut([new(4, 5), new(5, 2), new(6, 7)]);
            Step(TestModels.RandomTokens(random, 12, TestModels.Llama31.VocabSize), 0, [4, 5, 6]);
            swap.SwapIn([new(5, 9), new(2, 12), new(7, 10)]);
        });

        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i]); // bitwise: float[] equality element by element
        }
    }

    [Fact]
    public void SwapIn_WithoutSwappingOut_ContinuationDiffers()
    {
        // The test above can fail: skip the swap and the continuation reads the other sequence's K/V.
        var random = new Random(11);
        var prompt = TestModels.RandomTokens(random, 10, TestModels.Llama31.VocabSize);
        var continuation = TestModels.RandomTokens(random, 6, TestModels.Llama31.VocabSize);
        _backend.SwapSpace.Allocate(8, BlockSize);
        _backend.AllocateKvCache(16, BlockSize);
        var expected = Run(prompt, continuation, [0, 1, 2, 3], [0, 1, 2, 3], preempt: null);
        var clobbered = Run(prompt, continuation, [4, 5, 6], [4, 5, 6, 7], () =>
            Step(TestModels.RandomTokens(random, 12, TestModels.Llama31.VocabSize), 0, [4, 5, 6]));
        Assert.Equal(expected[0], clobbered[0]); // the prompt's own logits, before the clobbering
        Assert.NotEqual(expected[1], clobbered[1]);
    }

    [Fact]
    public void Swap_BlockOutOfRange_ThrowsNamingIt()
    {
        var swap = _backend.SwapSpace;
        Assert.Throws<InvalidOperationException>(() => swap.SwapOut([new(0, 0)]));
        swap.Allocate(2, BlockSize);
        _backend.AllocateKvCache(4, BlockSize);
        Assert.Contains("block 2", Assert.Throws<ArgumentException>(() => swap.SwapOut([new(0, 2)])).Message);
        Assert.Contains("block 9", Assert.Throws<ArgumentException>(() => swap.SwapIn([new(1, 9)])).Message);
        Assert.Throws<InvalidOperationException>(() => swap.Allocate(2, BlockSize));
    }

    [Fact]
    public void Swap_KvCacheOfAnotherBlockSize_Throws()
    {
        var swap = _backend.SwapSpace;
        swap.Allocate(2, BlockSize);
        _backend.AllocateKvCache(4, BlockSize * 2);
        Assert.Throws<InvalidOperationException>(() => swap.SwapOut([new(0, 0)]));
    }

    [Fact]
    public void SwapOutThenIn_Int8Blocks_RestoresTheirDataAndScalesByteForByte()
    {
        const int layers = 2, heads = 2, headDim = 8;
        var random = new Random(4);
        var cache = new Int8KvCache(layers, numBlocks: 6, BlockSize, heads, headDim);
        var swap = new CpuKvSwapSpace((blocks, blockSize) => new Int8KvCache(layers, blocks, blockSize, heads, headDim), () => cache);
        swap.Allocate(4, BlockSize);
        int[] table = [1, 3, 4];
        Fill(cache, table, random);
        var block1 = Segments(cache, 1);
        var block3 = Segments(cache, 3);
        var block4 = Segments(cache, 4);

        swap.SwapOut([new(1, 2), new(3, 0)]);
        Fill(cache, [1, 3], random); // another sequence takes blocks 1 and 3
        Assert.NotEqual(block1, Segments(cache, 1));
        swap.SwapIn([new(2, 5), new(0, 1)]);

        Assert.Equal(block1, Segments(cache, 5));
        Assert.Equal(block3, Segments(cache, 1));
        Assert.Equal(block4, Segments(cache, 4)); // untouched: copies write their destination block only
        for (var inBlock = 0; inBlock < BlockSize; inBlock++)
        {
            Assert.NotEqual(0f, cache.Scale(cache.Values(1), 5, inBlock, heads - 1)); // the scales came back too
        }
    }

    [Fact]
    public void CopyBlock_IntoCacheOfAnotherFormat_Throws()
    {
        var int8 = new Int8KvCache(numLayers: 1, numBlocks: 2, BlockSize, numKvHeads: 1, headDim: 4);
        var f32 = new Float32KvCache(numLayers: 1, numBlocks: 2, BlockSize, numKvHeads: 1, headDim: 4);
        Assert.Throws<ArgumentException>(() => int8.CopyBlock(0, f32, 1));
        Assert.Throws<ArgumentException>(() => f32.CopyBlock(0, int8, 1));
    }

    /// <summary>Random K and V, of a different magnitude per position, at every position of the blocks in <paramref name="table"/>.</summary>
    private static void Fill(Int8KvCache cache, int[] table, Random random)
    {
        for (var layer = 0; layer < cache.NumLayers; layer++)
        {
            for (var p = 0; p < table.Length * BlockSize; p++)
            {
                var magnitude = (float)Math.Pow(10, random.Next(-3, 4));
                float[] Row() => Enumerable.Range(0, cache.KvDim).Select(_ => (float)((random.NextDouble() * 2) - 1) * magnitude).ToArray();
                cache.Write(layer, table, p, Row(), Row());
            }
        }
    }

    /// <summary>Block <paramref name="block"/>'s bytes in every layer's K and V, data and scales.</summary>
    private static byte[] Segments(Int8KvCache cache, int block)
    {
        var n = cache.ElementsPerBlock;
        return [.. Enumerable.Range(0, cache.NumLayers).SelectMany(layer => cache.Keys(layer).AsSpan(block * n, n).ToArray().Concat(cache.Values(layer).AsSpan(block * n, n).ToArray()))];
    }

    /// <summary>
    /// Prefills the prompt in <paramref name="promptBlocks"/>, runs <paramref name="preempt"/>, then feeds the
    /// continuation token by token through <paramref name="continuationBlocks"/>; returns every logit row.
    /// </summary>
    private float[][] Run(int[] prompt, int[] continuation, int[] promptBlocks, int[] continuationBlocks, Action? preempt)
    {
        var rows = new List<float[]> { Step(prompt, 0, promptBlocks) };
        preempt?.Invoke();
        for (var i = 0; i < continuation.Length; i++)
        {
            rows.Add(Step([continuation[i]], prompt.Length + i, continuationBlocks));
        }

        return [.. rows];
    }

    private float[] Step(int[] tokens, int position, int[] blocks)
    {
        var output = new ForwardOutput(_backend.VocabSize);
        _backend.Forward(new ForwardBatch(tokens, [new SequenceSlice(0, tokens.Length, position, blocks, NeedsLogits: true)], BlockSize), output);
        return output.LogitRow(0).ToArray();
    }
}
