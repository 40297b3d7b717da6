using Brim.Core.Execution;

namespace Brim.Backends.Cpu;

/// <summary>
/// The CPU backend's swap space: per layer, K and V arrays laid out like <see cref="PagedKvCache"/>'s
/// ([block, blockSize, kvDim]), and copies of whole blocks between them, done at once on the caller's thread (so they
/// are ordered with <see cref="CpuBackend.Forward"/> trivially).
/// </summary>
/// <remarks>
/// Here the KV cache and the swap space are the same RAM, so every byte given to swap space could have been a KV block
/// instead: <see cref="DefaultBytes"/> is 0 and swapping is opt-in. When on, a copy is always cheaper than recomputing:
/// a forward pass over the same tokens writes at least the K/V bytes a copy moves and runs every matmul besides, so
/// <see cref="CopyBytesPerSecond"/> is infinite and the engine swaps whenever it has swap blocks free.
/// </remarks>
internal sealed class CpuKvSwapSpace(int numLayers, int kvDim, Func<PagedKvCache?> cache) : IKvSwapSpace
{
    private float[][] _keys = [];
    private float[][] _values = [];
    private int _blockSize;

    public long DefaultBytes => 0;

    public double CopyBytesPerSecond => double.PositiveInfinity;

    public int NumBlocks { get; private set; }

    public void Allocate(int numBlocks, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        if (NumBlocks != 0)
        {
            throw new InvalidOperationException("the swap space is already allocated");
        }

        var perLayer = (long)numBlocks * blockSize * kvDim;
        if (perLayer > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(numBlocks), $"{numBlocks} swap blocks need {perLayer} floats per layer, more than one array can hold");
        }

        _keys = new float[numLayers][];
        _values = new float[numLayers][];
        for (var layer = 0; layer < numLayers; layer++)
        {
            _keys[layer] = new float[perLayer];
            _values[layer] = new float[perLayer];
        }

        _blockSize = blockSize;
        NumBlocks = numBlocks;
    }

    public void SwapOut(ReadOnlySpan<KvBlockCopy> copies) => Copy(copies, toHost: true);

    public void SwapIn(ReadOnlySpan<KvBlockCopy> copies) => Copy(copies, toHost: false);

    private void Copy(ReadOnlySpan<KvBlockCopy> copies, bool toHost)
    {
        var kv = Cache();
        foreach (var (source, destination) in copies)
        {
            Check(source, toHost ? kv.NumBlocks : NumBlocks, toHost ? "KV cache" : "swap space");
            Check(destination, toHost ? NumBlocks : kv.NumBlocks, toHost ? "swap space" : "KV cache");
            for (var layer = 0; layer < numLayers; layer++)
            {
                var (keysFrom, keysTo) = toHost ? (kv.Keys(layer), _keys[layer]) : (_keys[layer], kv.Keys(layer));
                var (valuesFrom, valuesTo) = toHost ? (kv.Values(layer), _values[layer]) : (_values[layer], kv.Values(layer));
                CopyBlock(keysFrom, source, keysTo, destination);
                CopyBlock(valuesFrom, source, valuesTo, destination);
            }
        }
    }

    private static void Check(int block, int count, string where)
    {
        if ((uint)block >= (uint)count)
        {
            throw new ArgumentException($"block {block} is outside the {where} of {count} blocks");
        }
    }

    private PagedKvCache Cache()
    {
        if (NumBlocks == 0)
        {
            throw new InvalidOperationException("Allocate must be called before swapping");
        }

        var kv = cache() ?? throw new InvalidOperationException("AllocateKvCache must be called before swapping");
        if (kv.BlockSize != _blockSize)
        {
            throw new InvalidOperationException($"swap blocks of {_blockSize} positions do not match KV blocks of {kv.BlockSize}");
        }

        return kv;
    }

    private void CopyBlock(float[] from, int fromBlock, float[] to, int toBlock)
    {
        var floats = _blockSize * kvDim;
        Array.Copy(from, (long)fromBlock * floats, to, (long)toBlock * floats, floats);
    }
}
