using System.Globalization;
using Brim.Core.Execution;
using Brim.Engine;
using Brim.Models;

namespace Brim.Server.Hosting;

/// <summary>
/// How many KV blocks the CPU backend gets when --num-kv-blocks is not given: what <c>max-num-seqs × max-model-len</c>
/// needs, capped by the KV cache space (vLLM's VLLM_CPU_KVCACHE_SPACE, 4 GiB by default there and here) and by the
/// memory the process may still use. Sizing from free RAM instead (as the GPU does from device memory) took ~90 % of the
/// host for a 1 MB model, so a second engine in the same process (bench's static vs continuous runs) found nothing.
/// </summary>
internal static class CpuKvCacheSize
{
    public const long DefaultSpaceBytes = 4L << 30;

    public static int Blocks(IModelBackend backend, ModelConfig config, EngineOptions engine, long? spaceBytes)
    {
        var bytesPerBlock = backend.KvBytesPerBlock(engine.BlockSize);
        var maxModelLength = Math.Min(engine.MaxModelLength ?? config.MaxPositions, config.MaxPositions);
        var blocksPerSequence = (maxModelLength + engine.BlockSize - 1) / engine.BlockSize;
        var needed = (long)engine.MaxRunningSequences * blocksPerSequence;
        var space = spaceBytes ?? DefaultSpaceBytes;
        var available = backend.AvailableKvCacheBytes(engine.MemoryUtilization);
        var blocks = Math.Min(needed, Math.Min(space, available) / bytesPerBlock);
        if (blocks < 1)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"no memory for the KV cache: one block of {engine.BlockSize} positions takes {bytesPerBlock / 1048576.0:F1} MiB, "
                + $"--kv-cache-space allows {space / (double)(1L << 30):F2} GiB and {available / (double)(1L << 30):F2} GiB of memory is free"));
        }

        return (int)Math.Min(int.MaxValue, blocks);
    }
}
