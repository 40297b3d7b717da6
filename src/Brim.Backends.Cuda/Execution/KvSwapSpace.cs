using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// The CUDA backend's swap space: one pinned (page-locked) host allocation laid out like <see cref="PagedKvCache"/> —
/// per layer, K then V, each a run of blocks (data and, for FP8, scales) — so one block of one layer's K or V is one
/// contiguous segment on both sides, and a run of consecutive blocks (on both sides) is one copy per layer and tensor.
/// </summary>
/// <remarks>
/// Ordering without synchronization: every copy is enqueued asynchronously on the backend's one compute stream, the
/// stream <see cref="CudaBackend.Forward"/> enqueues its kernels and CUDA graphs on. Stream order alone then gives what
/// <see cref="IKvSwapSpace"/> promises: a swap-out enqueued before the next Forward has read its cache blocks before
/// that Forward's kernels can overwrite them (the engine may hand those blocks to another sequence in the same step),
/// and a swap-in has landed before the next Forward's attention reads it. Host blocks are touched by these copies only
/// (the engine never reads them), so reusing a host block for a later copy is stream-ordered as well. The host thread
/// never waits for a swap; Forward's own synchronization on its outputs retires them. The pinned memory is freed only
/// after <see cref="CudaBackend.Dispose"/> has synchronized the stream.
/// </remarks>
internal sealed unsafe class KvSwapSpace(CudaDevice device, CudaStream stream, ModelConfig config, AttentionShape shape, Func<PagedKvCache?> cache) : IKvSwapSpace, IDisposable
{
    /// <summary>4 GiB, vLLM's default swap_space: modest beside a GPU host's memory, thousands of 8B-model blocks.</summary>
    public const long DefaultSwapBytes = 4L << 30;

    private readonly int _tensors = 2 * config.NumLayers;
    private PinnedHostBuffer? _host;
    private long _segmentBytes;

    public long DefaultBytes => DefaultSwapBytes;

    /// <summary>Device-to-host rate of block-sized segment copies, measured at <see cref="Allocate"/> (per-copy overhead included).</summary>
    public double CopyBytesPerSecond { get; private set; } = double.PositiveInfinity;

    public int NumBlocks { get; private set; }

    public int BlockSize { get; private set; }

    public void Allocate(int numBlocks, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        if (_host is not null)
        {
            throw new InvalidOperationException("the swap space is already allocated");
        }

        _segmentBytes = PagedKvCache.SegmentBytesOf(shape, blockSize);
        _host = new PinnedHostBuffer(device, numBlocks * _tensors * _segmentBytes);
        NumBlocks = numBlocks;
        BlockSize = blockSize;
        CopyBytesPerSecond = MeasureCopyRate();
    }

    public void SwapOut(ReadOnlySpan<KvBlockCopy> copies) => Copy(copies, toHost: true);

    public void SwapIn(ReadOnlySpan<KvBlockCopy> copies) => Copy(copies, toHost: false);

    public void Dispose() => _host?.Dispose();

    private void Copy(ReadOnlySpan<KvBlockCopy> copies, bool toHost)
    {
        var kv = cache() ?? throw new InvalidOperationException("AllocateKvCache must be called before swapping");
        var host = _host ?? throw new InvalidOperationException("Allocate must be called before swapping");
        if (kv.BlockSize != BlockSize)
        {
            throw new InvalidOperationException($"swap blocks of {BlockSize} positions do not match KV blocks of {kv.BlockSize}");
        }

        if (kv.SegmentBytes != _segmentBytes)
        {
            throw new InvalidOperationException($"swap segments of {_segmentBytes} bytes do not match KV segments of {kv.SegmentBytes}");
        }

        device.MakeCurrent();
        for (var start = 0; start < copies.Length;)
        {
            var run = 1;
            while (start + run < copies.Length
                && copies[start + run].Source == copies[start].Source + run
                && copies[start + run].Destination == copies[start].Destination + run)
            {
                run++;
            }

            var (deviceBlock, hostBlock) = toHost ? (copies[start].Source, copies[start].Destination) : (copies[start].Destination, copies[start].Source);
            Check(deviceBlock, run, kv.NumBlocks, "KV cache");
            Check(hostBlock, run, NumBlocks, "swap space");
            var bytes = run * _segmentBytes;
            for (var tensor = 0; tensor < _tensors; tensor++)
            {
                var layer = tensor / 2;
                var onDevice = (tensor % 2 == 0 ? kv.Keys(layer) : kv.Values(layer)) + (ulong)(deviceBlock * _segmentBytes);
                var onHost = (byte*)host.Pointer + ((((long)tensor * NumBlocks) + hostBlock) * _segmentBytes);
                if (toHost)
                {
                    stream.CopyToHost(onHost, onDevice, bytes);
                }
                else
                {
                    stream.CopyToDevice(onDevice, onHost, bytes);
                }
            }

            start += run;
        }
    }

    private static void Check(int first, int count, int blocks, string where)
    {
        if (first < 0 || first + count > blocks)
        {
            throw new ArgumentException($"block {(first < 0 ? first : Math.Max(first, blocks))} is outside the {where} of {blocks} blocks");
        }
    }

    /// <summary>
    /// Times one block-sized segment copy per layer and tensor for up to 16 blocks, as scattered blocks would be copied,
    /// so the rate includes the per-copy overhead the cost model should see. Transiently allocates that much device memory.
    /// </summary>
    private double MeasureCopyRate()
    {
        var segments = Math.Min(NumBlocks, 16) * _tensors;
        var bytes = segments * _segmentBytes;
        using var source = new DeviceBuffer(device, bytes);
        stream.Fill(source.Pointer, 0x3C, bytes);
        var ms = Timing.MedianMs(device, stream, 1, 5, () =>
        {
            for (var i = 0; i < segments; i++)
            {
                stream.CopyToHost((byte*)_host!.Pointer + (i * _segmentBytes), source.Pointer + (ulong)(i * _segmentBytes), _segmentBytes);
            }
        });
        return ms > 0 ? bytes / (ms * 1e-3) : double.PositiveInfinity;
    }
}
