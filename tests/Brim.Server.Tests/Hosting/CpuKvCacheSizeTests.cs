using Brim.Backends.Cpu;
using Brim.Core.Execution;
using Brim.Engine;
using Brim.Models;
using Brim.Server.Hosting;
using Brim.Tests;

namespace Brim.Server.Tests.Hosting;

/// <summary>
/// The CPU KV cache sizing against the cache's format: --kv-cache-space is bytes, so an int8 cache (a quarter of the
/// bytes per element, plus a scale per position and head) gets more blocks in the same space, while the need
/// (max-num-seqs × max-model-len) stays a count of blocks whatever the format.
/// </summary>
public sealed class CpuKvCacheSizeTests : IDisposable
{
    private readonly LoadedModel _model = ModelLoader.Load(RepoPaths.BundledModel);
    private readonly CpuBackend _float32;
    private readonly CpuBackend _int8;

    public CpuKvCacheSizeTests()
    {
        _float32 = CpuBackend.Create(_model, new CpuBackendOptions { ThreadCount = 1 });
        _int8 = CpuBackend.Create(_model, new CpuBackendOptions { ThreadCount = 1, KvCacheDType = KvCacheDType.Int8 });
    }

    public void Dispose()
    {
        _float32.Dispose();
        _int8.Dispose();
        _model.Dispose();
    }

    [Fact]
    public void Blocks_Int8CacheInTheSpaceOfTenFloat32Blocks_FitsMoreBlocksByTheByteRatio()
    {
        var engine = new EngineOptions { MaxRunningSequences = 64 };
        var space = 10 * _float32.KvBytesPerBlock(engine.BlockSize);

        Assert.Equal(10, CpuKvCacheSize.Blocks(_float32, _model.Config, engine, space));
        var int8Blocks = CpuKvCacheSize.Blocks(_int8, _model.Config, engine, space);

        // stories260K has 8-wide heads: 32 bytes of float32 per head and position against 8 + 4 of int8.
        Assert.Equal(space / _int8.KvBytesPerBlock(engine.BlockSize), int8Blocks);
        Assert.Equal(26, int8Blocks);
    }

    [Fact]
    public void Blocks_SpaceAboveTheNeed_SameBlockCountForEitherFormat()
    {
        var engine = new EngineOptions { MaxRunningSequences = 4, MaxModelLength = 100 };

        Assert.Equal(4 * 7, CpuKvCacheSize.Blocks(_float32, _model.Config, engine, spaceBytes: null));
        Assert.Equal(4 * 7, CpuKvCacheSize.Blocks(_int8, _model.Config, engine, spaceBytes: null));
    }
}
