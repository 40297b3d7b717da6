using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cpu.KvCache;

/// <summary>
/// The paged KV cache: per layer, K and V each one array of <see cref="NumBlocks"/> equal segments, one per block, so
/// one block of one layer's K (or V), scales included where the format has them, is copied as a unit
/// (<see cref="CopyBlock"/>, used by the swap space). Position p of a sequence lives in block BlockTable[p / BlockSize]
/// at p % BlockSize; which block belongs to which sequence is the engine's business, this class only owns the memory
/// and its format (<see cref="Float32KvCache"/>, <see cref="Int8KvCache"/>).
/// </summary>
internal abstract class PagedKvCache
{
    protected PagedKvCache(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        NumLayers = numLayers;
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        NumKvHeads = numKvHeads;
        HeadDim = headDim;
    }

    public int NumLayers { get; }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    public int NumKvHeads { get; }

    public int HeadDim { get; }

    public int KvDim => NumKvHeads * HeadDim;

    /// <summary>A cache of <paramref name="type"/> for <paramref name="config"/>; fp8 is not a CPU format.</summary>
    public static PagedKvCache Create(KvCacheDType type, ModelConfig config, int numBlocks, int blockSize) => type switch
    {
        KvCacheDType.Auto => new Float32KvCache(config.NumLayers, numBlocks, blockSize, config.NumKvHeads, config.HeadDim),
        KvCacheDType.Int8 => new Int8KvCache(config.NumLayers, numBlocks, blockSize, config.NumKvHeads, config.HeadDim),
        _ => throw new NotSupportedException($"--kv-cache-dtype {type.Name()} is not a CPU KV cache format"),
    };

    /// <summary>Bytes one position takes in one layer's K (or V): the same again for V and for every layer.</summary>
    public static long BytesPerPosition(KvCacheDType type, ModelConfig config) => type switch
    {
        KvCacheDType.Auto => Float32KvCache.BytesPerPosition(config.KvDim),
        KvCacheDType.Int8 => Int8KvCache.BytesPerPosition(config.NumKvHeads, config.HeadDim),
        _ => throw new NotSupportedException($"--kv-cache-dtype {type.Name()} is not a CPU KV cache format"),
    };

    /// <summary>Stores one token's key and value rows (all KV heads, kvDim floats each) at its position's slot.</summary>
    public abstract void Write(int layer, ReadOnlySpan<int> blockTable, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value);

    /// <summary>
    /// Copies block <paramref name="block"/> of every layer's K and V into block <paramref name="destinationBlock"/>
    /// of <paramref name="destination"/>, a cache of the same format and block size.
    /// </summary>
    public abstract void CopyBlock(int block, PagedKvCache destination, int destinationBlock);

    /// <summary>The block of <paramref name="position"/> and its index inside it.</summary>
    public (int Block, int InBlock) Locate(ReadOnlySpan<int> blockTable, int position) =>
        (blockTable[position / BlockSize], position % BlockSize);
}

/// <summary>The storage shared by every format: per layer one K and one V array of <typeparamref name="T"/>, a block a segment.</summary>
internal abstract class PagedKvCache<T> : PagedKvCache
{
    private readonly T[][] _keys;
    private readonly T[][] _values;

    protected PagedKvCache(int numLayers, int numBlocks, int blockSize, int numKvHeads, int headDim, int elementsPerPosition)
        : base(numLayers, numBlocks, blockSize, numKvHeads, headDim)
    {
        var perLayer = (long)numBlocks * blockSize * elementsPerPosition;
        if (perLayer > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(numBlocks),
                $"{numBlocks} blocks of {blockSize} positions need {perLayer} {typeof(T).Name} elements per layer, more than one array can hold");
        }

        ElementsPerBlock = blockSize * elementsPerPosition;
        _keys = new T[numLayers][];
        _values = new T[numLayers][];
        for (var layer = 0; layer < numLayers; layer++)
        {
            _keys[layer] = new T[perLayer];
            _values[layer] = new T[perLayer];
        }
    }

    /// <summary>Elements of one block of one layer's K (or V): block b is [b * ElementsPerBlock, (b + 1) * ElementsPerBlock).</summary>
    public int ElementsPerBlock { get; }

    public T[] Keys(int layer) => _keys[layer];

    public T[] Values(int layer) => _values[layer];

    public override void CopyBlock(int block, PagedKvCache destination, int destinationBlock)
    {
        if (destination is not PagedKvCache<T> to || to.GetType() != GetType() || to.ElementsPerBlock != ElementsPerBlock || to.NumLayers != NumLayers)
        {
            throw new ArgumentException($"a {GetType().Name} block copies only into a cache of the same format and shape", nameof(destination));
        }

        var from = (long)block * ElementsPerBlock;
        var into = (long)destinationBlock * ElementsPerBlock;
        for (var layer = 0; layer < NumLayers; layer++)
        {
            Array.Copy(_keys[layer], from, to._keys[layer], into, ElementsPerBlock);
            Array.Copy(_values[layer], from, to._values[layer], into, ElementsPerBlock);
        }
    }
}
