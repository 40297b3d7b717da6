using Brim.Engine;
using Brim.Server.Hosting;

namespace Brim.Server.Tests.Hosting;

/// <summary>A model's share of the memory budget: how shares split, what they refuse, and the KV cache they size on the CPU.</summary>
public class MemoryShareTests
{
    [Fact]
    public void Split_NoneGiven_EqualSharesInOrder()
    {
        var shares = MemoryShare.Split(4, null);
        Assert.Equal([0.25, 0.25, 0.25, 0.25], shares.Select(s => s.Share));
        Assert.Equal([0, 0.25, 0.5, 0.75], shares.Select(s => s.Before));
    }

    [Fact]
    public void Split_Given_KeptWithWhatCameBefore()
    {
        var shares = MemoryShare.Split(2, [0.3, 0.6]);
        Assert.Equal((0.0, 0.3), (shares[0].Before, shares[0].Share));
        Assert.Equal(0.3, shares[1].Before, 12);
        Assert.Equal(0.6, shares[1].Share);
    }

    [Theory]
    [InlineData(new[] { 0.5 }, "one --model-memory-share per --model (2)")]
    [InlineData(new[] { 0.7, 0.4 }, "add up to 1.1, more than 1")]
    public void Split_Wrong_Refused(double[] given, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => MemoryShare.Split(2, given));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CpuShare_CutsTheKvCacheSpaceByTheShare()
    {
        // 64 slots × the whole context need far more than 1 MiB, so the space binds and the share cuts it.
        var options = new ModelHostOptions
        {
            Device = DeviceKind.Cpu, CpuThreads = 1, KvCacheSpaceBytes = 1 << 20, Engine = new EngineOptions { MaxRunningSequences = 64 },
        };
        using var whole = ModelHost.Load(options);
        using var quarter = ModelHost.Load(options with { MemoryShare = new MemoryShare(0.5, 0.25) });

        Assert.Equal(whole.Engine.TotalKvBlocks / 4, quarter.Engine.TotalKvBlocks);
        Assert.Equal(0.25, quarter.MemoryShare.Share);
    }
}
