namespace Brim.Backends.Cpu;

/// <summary>
/// The float32 paged KV cache. Layout, per layer and separately for K and V: one array
/// [numBlocks, blockSize, kvDim], so the key (or value) of position p of a sequence, all KV heads together, is the
/// kvDim floats at ((BlockTable[p / blockSize] * blockSize) + p % blockSize) * kvDim; head h starts h * headDim
/// further. Which block belongs to which sequence is the engine's business; this class only owns the memory.
/// </summary>
internal sealed class PagedKvCache
{
    private readonly float[][] _keys;
    private readonly float[][] _values;

    public PagedKvCache(int numLayers, int numBlocks, int blockSize, int kvDim)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        var perLayer = (long)numBlocks * blockSize * kvDim;
        if (perLayer > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(numBlocks),
                $"{numBlocks} blocks of {blockSize} positions need {perLayer} floats per layer, more than one array can hold");
        }

        NumBlocks = numBlocks;
        BlockSize = blockSize;
        KvDim = kvDim;
        _keys = new float[numLayers][];
        _values = new float[numLayers][];
        for (var layer = 0; layer < numLayers; layer++)
        {
            _keys[layer] = new float[perLayer];
            _values[layer] = new float[perLayer];
        }
    }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    public int KvDim { get; }

    public float[] Keys(int layer) => _keys[layer];

    public float[] Values(int layer) => _values[layer];

    /// <summary>Offset of position <paramref name="position"/>'s kvDim-sized row in a layer array.</summary>
    public int RowOffset(ReadOnlySpan<int> blockTable, int position) =>
        ((blockTable[position / BlockSize] * BlockSize) + (position % BlockSize)) * KvDim;
}
