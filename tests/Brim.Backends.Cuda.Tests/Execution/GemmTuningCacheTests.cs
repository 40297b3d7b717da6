using Brim.Backends.Cuda.Execution;

namespace Brim.Backends.Cuda.Tests.Execution;

/// <summary>
/// The tuned choices kept between starts, without a GPU: what a second start reads is what the first wrote (every
/// 64-bit word of the opaque descriptor, the timings, the "GemmEx stays" entries), per device and library key; a file
/// it cannot read is reported and replaced, never trusted in part.
/// </summary>
public sealed class GemmTuningCacheTests : IDisposable
{
    private const string H100 = "NVIDIA H100 80GB HBM3 | sm_90 | driver 13000 | cublasLt 130100";
    private const string H200 = "NVIDIA H200 | sm_90 | driver 13000 | cublasLt 130100";
    private readonly string _directory = Directory.CreateTempSubdirectory("brim-gemm-tuning-").FullName;

    private string FilePath => Path.Combine(_directory, "cache", GemmTuningCache.FileName);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void SaveThenOpen_SameDevice_ReadsEveryFieldBack()
    {
        var lt = new GemmTuning(new GemmShape(64, 28672, 4096, false), 91.5, Algorithm(0xFFFF_FFFF_FFFF_FFFEUL), 80.25, 12);
        var gemmEx = new GemmTuning(new GemmShape(256, 128256, 4096, true), 1210.0, null, double.NaN, 0);
        var first = GemmTuningCache.Open(FilePath, H100);
        first.Put(lt);
        first.Put(gemmEx);
        Assert.True(first.Save());

        var second = GemmTuningCache.Open(FilePath, H100);
        Assert.Null(second.Problem);
        Assert.Equal(2, second.Count);
        Assert.True(second.TryGet(lt.Shape, out var readLt));
        Assert.Equal(lt.GemmExMicroseconds, readLt.GemmExMicroseconds);
        Assert.Equal(lt.BestMicroseconds, readLt.BestMicroseconds);
        Assert.Equal(lt.Candidates, readLt.Candidates);
        Assert.Equal(lt.Best!.Descriptor, readLt.Best!.Descriptor);
        Assert.Equal((lt.Best.WorkspaceBytes, lt.Best.Id, lt.Best.Tile, lt.Best.SplitK, lt.Best.Stages), (readLt.Best.WorkspaceBytes, readLt.Best.Id, readLt.Best.Tile, readLt.Best.SplitK, readLt.Best.Stages));
        Assert.True(readLt.UsesLt);
        Assert.True(second.TryGet(gemmEx.Shape, out var readGemmEx));
        Assert.Null(readGemmEx.Best);
        Assert.False(readGemmEx.UsesLt);
        Assert.False(second.TryGet(new GemmShape(64, 28672, 4096, true), out _)); // fp32 output is another shape
    }

    [Fact]
    public void Open_OtherDevice_SeesNoneOfItButKeepsThemOnSave()
    {
        var shape = new GemmShape(8, 4096, 4096, false);
        var h100 = GemmTuningCache.Open(FilePath, H100);
        h100.Put(new GemmTuning(shape, 20.0, Algorithm(7), 15.0, 4));
        h100.Save();

        var h200 = GemmTuningCache.Open(FilePath, H200);
        Assert.False(h200.TryGet(shape, out _));
        Assert.Equal(0, h200.Count);
        h200.Put(new GemmTuning(shape, 18.0, null, double.NaN, 0));
        h200.Save();

        Assert.True(GemmTuningCache.Open(FilePath, H100).TryGet(shape, out var again));
        Assert.Equal(15.0, again.BestMicroseconds);
        Assert.True(GemmTuningCache.Open(FilePath, H200).TryGet(shape, out var other));
        Assert.Null(other.Best);
    }

    [Fact]
    public void ForgetThisDevice_DropsOnlyItsEntries()
    {
        var shape = new GemmShape(16, 1024, 4096, false);
        foreach (var device in new[] { H100, H200 })
        {
            var cache = GemmTuningCache.Open(FilePath, device);
            cache.Put(new GemmTuning(shape, 10.0, null, double.NaN, 0));
            cache.Save();
        }

        var fresh = GemmTuningCache.Open(FilePath, H100);
        fresh.ForgetThisDevice();
        Assert.False(fresh.TryGet(shape, out _));
        fresh.Save();
        Assert.False(GemmTuningCache.Open(FilePath, H100).TryGet(shape, out _));
        Assert.True(GemmTuningCache.Open(FilePath, H200).TryGet(shape, out _));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"version\": 99, \"entries\": []}")]
    [InlineData("{\"version\": 1, \"entries\": [{\"device\": \"d\", \"rows\": 8}]}")]
    [InlineData("{\"version\": 1, \"entries\": [{\"device\": \"" + H100 + "\", \"rows\": 8, \"out\": 16, \"in\": 16, \"fp32_output\": false, \"gemmex_us\": 1.0, \"candidates\": 1, \"best_us\": 0.5, \"algorithm\": {\"descriptor\": [\"1\", \"2\"], \"workspace_bytes\": 0, \"id\": 1, \"tile\": 1, \"split_k\": 1, \"stages\": 1}}]}")]
    [InlineData("{\"version\": 1, \"entries\": [{\"device\": \"" + H100 + "\", \"rows\": 0, \"out\": 16, \"in\": 16, \"fp32_output\": false, \"gemmex_us\": 1.0, \"candidates\": 0}]}")]
    public void Open_UnreadableFile_ReportedEmptyAndReplacedOnSave(string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        File.WriteAllText(FilePath, text);
        var cache = GemmTuningCache.Open(FilePath, H100);
        Assert.NotNull(cache.Problem);
        Assert.Contains(FilePath, cache.Problem, StringComparison.Ordinal);
        Assert.Equal(0, cache.Count);

        var shape = new GemmShape(4, 4096, 14336, false);
        cache.Put(new GemmTuning(shape, 30.0, Algorithm(3), 25.0, 2));
        Assert.True(cache.Save());
        var reread = GemmTuningCache.Open(FilePath, H100);
        Assert.Null(reread.Problem);
        Assert.True(reread.TryGet(shape, out _));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(FilePath)!, "*.tmp"));
    }

    [Fact]
    public void Save_DirectoryIsAFile_ReportsAndReturnsFalse()
    {
        var blocker = Path.Combine(_directory, "blocked");
        File.WriteAllText(blocker, "a file where the cache directory should be");
        var cache = GemmTuningCache.Open(Path.Combine(blocker, GemmTuningCache.FileName), H100);
        cache.Put(new GemmTuning(new GemmShape(4, 16, 16, false), 1.0, null, double.NaN, 0));
        Assert.False(cache.Save());
        Assert.Contains("could not be saved", cache.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void InMemory_SavesNothing()
    {
        var cache = GemmTuningCache.Open(null, H100);
        cache.Put(new GemmTuning(new GemmShape(4, 16, 16, false), 1.0, null, double.NaN, 0));
        Assert.True(cache.Save());
        Assert.Equal(1, cache.Count);
        Assert.Empty(Directory.GetFileSystemEntries(_directory));
    }

    private static LtAlgorithm Algorithm(ulong seed)
        => new([.. Enumerable.Range(0, 8).Select(i => seed ^ ((ulong)i * 0x9E37_79B9_7F4A_7C15UL))], 1L << 20, 31, 18, 1, 8);
}
