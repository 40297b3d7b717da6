using Brim.Engine;
using Brim.Models;
using Brim.Server.Hosting;

namespace Brim.Server.Tests.Hosting;

/// <summary>What loading the bundled model on the CPU reports to a progress sink: the weights as read, then the end.</summary>
public class ModelHostProgressTests
{
    [Fact]
    public void Load_WithProgress_ReportsEveryWeightByteThenFinished()
    {
        var reports = new List<LoadProgress>();

        using var host = ModelHost.Load(Options(reports));

        var weights = reports.Where(r => r.Phase == LoadPhase.Weights).ToList();
        Assert.NotEmpty(weights);
        Assert.Equal(weights[^1].Total, weights[^1].Done);
        Assert.Equal(WeightManifest.For(host.Config).Sum(t => t.ByteCount), weights[^1].Total);
        Assert.Equal(LoadProgress.Finished, reports[^1]);
    }

    [Fact]
    public void Load_FailingAfterTheWeightsOpened_StillReportsFinished()
    {
        var reports = new List<LoadProgress>();

        Assert.ThrowsAny<Exception>(() => ModelHost.Load(Options(reports) with { ChatTemplatePath = "/nonexistent/template.jinja" }));

        Assert.Equal([LoadProgress.Finished], reports);
    }

    private static ModelHostOptions Options(List<LoadProgress> reports) => new()
    {
        Device = DeviceKind.Cpu,
        CpuThreads = 1,
        Engine = new EngineOptions { NumKvBlocks = 64 },
        Progress = new SyncProgress(reports.Add),
    };

    /// <summary>Reports on the caller's thread (System.Progress posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<LoadProgress> report) : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value) => report(value);
    }
}
