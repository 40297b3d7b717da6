using Brim.Backends.Cpu.KvCache;
using Brim.Core.Execution;

namespace Brim.Backends.Cpu;

/// <summary>
/// The CPU backend's swap space: a second <see cref="PagedKvCache"/> of the cache's own format (float32, or int8 data
/// with its scales), and copies of whole blocks between the two, done at once on the caller's thread (so they are
/// ordered with <see cref="CpuBackend.Forward"/> trivially). A block of one layer's K (or V) is one contiguous segment in
/// either format, so a copy moves it, scales included, as a unit.
/// </summary>
/// <remarks>
/// Here the KV cache and the swap space are the same RAM, so every byte given to swap space could have been a KV block
/// instead: <see cref="DefaultBytes"/> is 0 and swapping is opt-in. When on, a copy is always cheaper than recomputing:
/// a forward pass over the same tokens writes at least the K/V bytes a copy moves and runs every matmul besides, so
/// <see cref="CopyBytesPerSecond"/> is infinite and the engine swaps whenever it has swap blocks free.
/// </remarks>
internal sealed class CpuKvSwapSpace(Func<int, int, PagedKvCache> allocate, Func<PagedKvCache?> cache) : IKvSwapSpace
{
    private PagedKvCache? _host;

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

        _host = allocate(numBlocks, blockSize);
        NumBlocks = numBlocks;
    }

    public void SwapOut(ReadOnlySpan<KvBlockCopy> copies) => Copy(copies, toHost: true);

    public void SwapIn(ReadOnlySpan<KvBlockCopy> copies) => Copy(copies, toHost: false);

    private void Copy(ReadOnlySpan<KvBlockCopy> copies, bool toHost)
    {
        var kv = Cache();
        var host = _host!;
        var (from, to) = toHost ? (kv, host) : (host, kv);
        foreach (var (source, destination) in copies)
        {
            Check(source, from.NumBlocks, toHost ? "KV cache" : "swap space");
            Check(destination, to.NumBlocks, toHost ? "swap space" : "KV cache");
            from.CopyBlock(source, to, destination);
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
        if (_host is null)
        {
            throw new InvalidOperationException("Allocate must be called before swapping");
        }

        var kv = cache() ?? throw new InvalidOperationException("AllocateKvCache must be called before swapping");
        if (kv.BlockSize != _host.BlockSize)
        {
            throw new InvalidOperationException($"swap blocks of {_host.BlockSize} positions do not match KV blocks of {kv.BlockSize}");
        }

        return kv;
    }
}
