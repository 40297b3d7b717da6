using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Backends.Cuda.TensorParallel;

namespace Brim.Backends.Cuda.Tests.TensorParallel;

/// <summary>
/// NCCL through P/Invoke: where libnccl.so.2 is missing (CI) the group is refused naming the library; on a GPU host a
/// one-rank group's collectives copy through (all-reduce over one rank is the identity, eagerly and replayed from a CUDA
/// graph); with two or more GPUs every rank ends with the sum of all ranks' buffers and the gather of all of them.
/// </summary>
public class NcclGroupTests
{
    [Fact]
    public void IsAvailable_WhereTheLibraryIsMissing_NamesWhatToInstall()
    {
        var loads = NativeLibraries.TryLoad(NativeLibraries.Nccl, out _, out _);
        var available = NcclGroup.IsAvailable(out var reason);
        if (loads)
        {
            Assert.True(available, reason); // GPU hosts carry NCCL 2.28; anything older than 2.10 would be named here
            return;
        }

        Assert.False(available);
        Assert.Contains("libnccl.so.2", reason, StringComparison.Ordinal);
        var refused = Assert.Throws<CudaException>(() => NcclGroup.Create([0]));
        Assert.Equal(reason, refused.Message);
    }

    [Fact]
    public void Create_OneDeviceTwice_IsRefusedBeforeAnyNcclCall()
    {
        var refused = Assert.Throws<ArgumentException>(() => NcclGroup.Create([0, 0]));
        Assert.Contains("a GPU of its own", refused.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => NcclGroup.Create([]));
    }

    [Theory]
    [InlineData(22803, "2.28.3")]
    [InlineData(21000, "2.10.0")]
    [InlineData(2708, "2.7.8")]
    public void DescribeVersion_Codes_ReadAsReleases(int code, string expected)
        => Assert.Equal(expected, Nccl.DescribeVersion(code));

    [Fact]
    public void OneRank_Collectives_CopyThroughEagerlyAndInAGraph()
    {
        Gpu.Require();
        Assert.SkipUnless(NcclGroup.IsAvailable(out var why), why);
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var device = CudaDevice.Open(0);
        using var stream = new CudaStream(device);
        using var group = NcclGroup.Create([0]);
        Assert.Equal(1, group.WorldSize);

        var values = Enumerable.Range(0, 4099).Select(_ => (random.NextSingle() * 8) - 4).ToArray();
        using var buffer = new DeviceBuffer(device, values.Length * sizeof(float));
        using var gathered = new DeviceBuffer(device, values.Length * sizeof(float));
        stream.Upload<float>(buffer.Pointer, values);
        group.AllReduceSum(0, stream, buffer.Pointer, values.Length, NcclElement.Float32);
        group.AllGather(0, stream, buffer.Pointer, gathered.Pointer, values.Length, NcclElement.Float32);
        Assert.Equal(values, Download(stream, buffer, values.Length));
        Assert.Equal(values, Download(stream, gathered, values.Length));

        stream.Fill(gathered.Pointer, 0, gathered.Bytes);
        using var graph = CudaGraph.Capture(device, stream, () =>
        {
            group.AllReduceSum(0, stream, buffer.Pointer, values.Length, NcclElement.Float32);
            group.AllGather(0, stream, buffer.Pointer, gathered.Pointer, values.Length, NcclElement.Float32);
        });
        graph.Launch(stream);
        Assert.Equal(values, Download(stream, gathered, values.Length));
    }

    [Fact]
    public void Ranks_AllReduceAndAllGather_EveryRankHoldsTheSumAndTheGather()
    {
        Gpu.Require();
        Assert.SkipUnless(NcclGroup.IsAvailable(out var why), why);
        var devices = CudaDevice.Count();
        Assert.SkipWhen(devices < 2, $"one GPU: the multi-rank collectives need two or more ({devices} present)");
        const int count = 1000;
        var opened = Enumerable.Range(0, devices).Select(CudaDevice.Open).ToArray();
        var streams = opened.Select(d => { d.MakeCurrent(); return new CudaStream(d); }).ToArray();
        var buffers = opened.Select(d => new DeviceBuffer(d, count * sizeof(float))).ToArray();
        var gathers = opened.Select(d => new DeviceBuffer(d, (long)devices * count * sizeof(float))).ToArray();
        try
        {
            // Small integers: the sum is exact in any order.
            float Value(int rank, int i) => ((rank + 1) * 3) + (i % 17);
            using var group = NcclGroup.Create([.. Enumerable.Range(0, devices)]);
            for (var r = 0; r < devices; r++)
            {
                opened[r].MakeCurrent();
                streams[r].Upload<float>(gathers[r].Pointer, new float[devices * count]);
                streams[r].Upload<float>(buffers[r].Pointer, Enumerable.Range(0, count).Select(i => Value(r, i)).ToArray());
                streams[r].Synchronize();
            }

            NcclGroup.Together(() =>
            {
                for (var r = 0; r < devices; r++)
                {
                    group.AllGather(r, streams[r], buffers[r].Pointer, gathers[r].Pointer, count, NcclElement.Float32);
                }
            });
            NcclGroup.Together(() =>
            {
                for (var r = 0; r < devices; r++)
                {
                    group.AllReduceSum(r, streams[r], buffers[r].Pointer, count, NcclElement.Float32);
                }
            });

            var sum = Enumerable.Range(0, count).Select(i => Enumerable.Range(0, devices).Sum(r => Value(r, i))).ToArray();
            var gather = Enumerable.Range(0, devices).SelectMany(r => Enumerable.Range(0, count).Select(i => Value(r, i))).ToArray();
            for (var r = 0; r < devices; r++)
            {
                opened[r].MakeCurrent();
                Assert.Equal(sum, Download(streams[r], buffers[r], count));
                Assert.Equal(gather, Download(streams[r], gathers[r], devices * count));
            }
        }
        finally
        {
            for (var r = 0; r < devices; r++)
            {
                opened[r].MakeCurrent();
                gathers[r].Dispose();
                buffers[r].Dispose();
                streams[r].Dispose();
                opened[r].Dispose();
            }
        }
    }

    private static float[] Download(CudaStream stream, DeviceBuffer buffer, int count)
    {
        var values = new float[count];
        stream.Download<float>(buffer.Pointer, values);
        stream.Synchronize();
        return values;
    }
}
