using Brim.Backends.Cuda.Interop;
using Brim.Models;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// The paged bf16 KV cache, one allocation. Per layer, K then V, each laid out [block][kv_head][offset][head_dim]:
/// a KV head's positions within a block are contiguous, so attention reads whole rows of head_dim.
/// </summary>
internal sealed class PagedKvCache : IDisposable
{
    private readonly DeviceBuffer _buffer;
    private readonly long _bytesPerLayerTensor;

    public PagedKvCache(CudaDevice device, ModelConfig config, int numBlocks, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numBlocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        _bytesPerLayerTensor = (long)numBlocks * blockSize * config.KvDim * 2;
        _buffer = new DeviceBuffer(device, _bytesPerLayerTensor * 2 * config.NumLayers);
    }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    /// <summary>Bytes of one block over all layers, K and V.</summary>
    public static long BytesPerBlock(ModelConfig config, int blockSize) => 2L * config.NumLayers * blockSize * config.KvDim * 2;

    public ulong Keys(int layer) => _buffer.At(2 * layer * _bytesPerLayerTensor);

    public ulong Values(int layer) => _buffer.At(((2 * layer) + 1) * _bytesPerLayerTensor);

    public void Dispose() => _buffer.Dispose();
}
