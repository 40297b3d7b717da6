namespace Brim.Models.Tests;

/// <summary>Weights loaded with a progress sink report the bytes read from them, whichever way a backend reads them.</summary>
public class ReportingWeightSourceTests
{
    [Fact]
    public void ReadAsFloat32_EveryManifestTensor_ReportsBytesUpToTheManifestTotal()
    {
        var reports = new List<LoadProgress>();
        using var model = ModelLoader.Load(TestPaths.Stories260K, progress: new SyncProgress(reports.Add));
        var manifest = WeightManifest.For(model.Config);

        foreach (var tensor in manifest)
        {
            model.Weights.ReadAsFloat32(tensor.Name, new float[tensor.ElementCount]);
        }

        var total = manifest.Sum(t => t.ByteCount);
        Assert.Equal(manifest.Count, reports.Count);
        Assert.All(reports, r => Assert.Equal((LoadPhase.Weights, total), (r.Phase, r.Total)));
        Assert.Equal(reports.Select(r => r.Done).Order(), reports.Select(r => r.Done));
        Assert.Equal(total, reports[^1].Done);
    }

    [Fact]
    public void ReadRaw_ATensorInTwoChunks_ReportsEachChunk()
    {
        var reports = new List<LoadProgress>();
        using var model = ModelLoader.Load(TestPaths.Stories260K, progress: new SyncProgress(reports.Add));
        var info = model.Weights.GetInfo(LlamaTensorNames.Embedding);
        var half = (int)(info.ByteCount / 2);

        model.Weights.ReadRaw(info.Name, 0, new byte[half]);
        model.Weights.ReadRaw(info.Name, half, new byte[info.ByteCount - half]);

        Assert.Equal([half, info.ByteCount], reports.Select(r => r.Done));
    }

    [Fact]
    public void Load_WithoutProgress_GivesTheLoadersOwnSource()
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);

        Assert.IsNotType<ReportingWeightSource>(model.Weights);
    }

    /// <summary>Reports on the caller's thread (System.Progress posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<LoadProgress> report) : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value) => report(value);
    }
}
