using Brim.Engine;
using Brim.Server.Hosting;
using Brim.Tests;

namespace Brim.Cli.Tests;

/// <summary>
/// The CPU KV cache without --num-kv-blocks: what max-num-seqs × max-model-len needs, capped by --kv-cache-space, so
/// a second engine in the same process (as `brim bench` loads one per batching mode) still finds memory.
/// </summary>
public class CpuKvCacheSizeTests
{
    private static ModelHost Load(int maxNumSeqs, int? maxModelLen = null, long? space = null) => ModelHost.Load(new ModelHostOptions
    {
        ModelPath = RepoPaths.BundledModel,
        Device = DeviceKind.Cpu,
        CpuThreads = 1,
        KvCacheSpaceBytes = space,
        Engine = new EngineOptions { MaxRunningSequences = maxNumSeqs, MaxModelLength = maxModelLen },
    });

    [Fact]
    public void Load_NoBlockCount_SizesForEverySequenceAtFullContext()
    {
        using var host = Load(maxNumSeqs: 4, maxModelLen: 100);

        // 100 positions in blocks of 16: 7 blocks per sequence.
        Assert.Equal(4 * 7, host.Engine.TotalKvBlocks);
        Assert.Contains("448 tokens (28 blocks × 16)", host.KvCacheNote, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_KvCacheSpaceBelowTheNeed_TakesTheSpace()
    {
        using var probe = Load(maxNumSeqs: 1);
        var blockBytes = probe.Backend.KvBytesPerBlock(16);

        using var host = Load(maxNumSeqs: 64, space: 10 * blockBytes);

        Assert.Equal(10, host.Engine.TotalKvBlocks);
    }

    [Fact]
    public void Load_SecondEngineBesideTheFirst_GetsTheSameCache()
    {
        using var first = Load(maxNumSeqs: 64);
        using var second = Load(maxNumSeqs: 64);

        Assert.Equal(64 * (first.Engine.MaxModelLength / 16), first.Engine.TotalKvBlocks);
        Assert.Equal(first.Engine.TotalKvBlocks, second.Engine.TotalKvBlocks);
    }
}
