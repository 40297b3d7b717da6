using Brim.Core.Execution;
using Brim.Engine.Scheduling;

namespace Brim.Engine.KvCache;

/// <summary>
/// Carries out the block copies a schedule decided between the KV cache and the host swap space, in decision order
/// (a later decision may reuse a block an earlier one freed), batching consecutive copies of one direction into one
/// backend call. Owned by the engine's step loop; reuses its copy buffer, so allocation-free in steady state.
/// </summary>
internal sealed class SwapCopier(IKvSwapSpace space)
{
    private KvBlockCopy[] _swapCopies = [];

    /// <summary>
    /// Hands the plan's block copies to the backend, batching consecutive ones of one direction; returns the blocks
    /// moved each way. The backend orders them before the next forward pass (see <see cref="IKvSwapSpace"/>).
    /// </summary>
    public (int Out, int In) Apply(List<BlockSwap> swaps)
    {
        int swappedOut = 0, swappedIn = 0;
        for (var start = 0; start < swaps.Count;)
        {
            var toHost = swaps[start].ToHost;
            var end = start;
            while (end < swaps.Count && swaps[end].ToHost == toHost)
            {
                end++;
            }

            if (_swapCopies.Length < end - start)
            {
                _swapCopies = new KvBlockCopy[Math.Max(end - start, _swapCopies.Length * 2)];
            }

            for (var i = start; i < end; i++)
            {
                var s = swaps[i];
                _swapCopies[i - start] = toHost ? new KvBlockCopy(s.DeviceBlock, s.HostBlock) : new KvBlockCopy(s.HostBlock, s.DeviceBlock);
            }

            var copies = _swapCopies.AsSpan(0, end - start);
            if (toHost)
            {
                space.SwapOut(copies);
                swappedOut += copies.Length;
            }
            else
            {
                space.SwapIn(copies);
                swappedIn += copies.Length;
            }

            start = end;
        }

        return (swappedOut, swappedIn);
    }

    /// <summary>
    /// Swap blocks from <see cref="EngineOptions.SwapSpaceBytes"/>, or the backend's default when unset; 0 when the
    /// backend cannot swap and the option is unset (an explicit request it cannot honour is an error).
    /// </summary>
    public static int SwapBlocks(IModelBackend backend, EngineOptions options)
    {
        var space = backend.SwapSpace;
        var bytes = options.SwapSpaceBytes ?? space?.DefaultBytes ?? 0;
        if (bytes == 0)
        {
            return 0;
        }

        if (space is null)
        {
            throw new ArgumentException(
                $"{backend.DeviceName} cannot swap KV blocks to host memory; set {nameof(EngineOptions.SwapSpaceBytes)} to 0 or leave it unset",
                nameof(options));
        }

        return (int)Math.Min(int.MaxValue, bytes / backend.KvBytesPerBlock(options.BlockSize));
    }
}
