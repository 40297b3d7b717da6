using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Models;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// The paged KV cache, one allocation. Per layer, K then V, each a run of blocks; a block holds
/// [kv_head][offset][head_dim] values (bf16, or E4M3 followed by a float scale per kv_head and offset: kv_cache.cuh),
/// so a KV head's positions within a block are contiguous, attention reads whole rows of head_dim, and one block of
/// one layer's K or V, scales included, is one contiguous segment (what swapping copies).
/// </summary>
internal sealed class PagedKvCache : IDisposable
{
    private readonly DeviceBuffer _buffer;
    private readonly long _bytesPerLayerTensor;

    public PagedKvCache(CudaDevice device, ModelConfig config, AttentionShape shape, int numBlocks, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numBlocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        CheckAlignment(shape, blockSize);
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        SegmentBytes = SegmentBytesOf(shape, blockSize);
        _bytesPerLayerTensor = numBlocks * SegmentBytes;
        _buffer = new DeviceBuffer(device, _bytesPerLayerTensor * 2 * config.NumLayers);
    }

    public int NumBlocks { get; }

    public int BlockSize { get; }

    /// <summary>Bytes of one block of one layer's K (or V), scales included.</summary>
    public long SegmentBytes { get; }

    /// <summary>Bytes of one block over all layers, K and V.</summary>
    public static long BytesPerBlock(ModelConfig config, AttentionShape shape, int blockSize) => 2L * config.NumLayers * SegmentBytesOf(shape, blockSize);

    public static long SegmentBytesOf(AttentionShape shape, int blockSize) => (long)blockSize * shape.NumKvHeads * shape.KvBytesPerHeadPosition;

    /// <summary>
    /// The kernels load K/V rows 16 bytes at a time from every block, so a block must start 16-byte aligned: always true
    /// for bf16 (head_dim a multiple of 8), for FP8 only where block size × kv heads × (head_dim + 4) is a multiple of 16.
    /// </summary>
    public static void CheckAlignment(AttentionShape shape, int blockSize)
    {
        if (SegmentBytesOf(shape, blockSize) % 16 != 0)
        {
            throw new ArgumentException(
                $"--block-size {blockSize} with --kv-cache-dtype fp8 gives blocks of {SegmentBytesOf(shape, blockSize)} bytes per layer; the kernels need a multiple of 16 (use a block size of 16)");
        }
    }

    public ulong Keys(int layer) => _buffer.At(2 * layer * _bytesPerLayerTensor);

    public ulong Values(int layer) => _buffer.At(((2 * layer) + 1) * _bytesPerLayerTensor);

    /// <summary>Zeroes every block (a harness that reads positions no step wrote reads zeros, not whatever memory held).</summary>
    public void Clear(CudaStream stream) => stream.Fill(_buffer.Pointer, 0, _buffer.Bytes);

    public void Dispose() => _buffer.Dispose();
}
