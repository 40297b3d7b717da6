using Brim.Models.Parallel;

namespace Brim.Models.Tests.Parallel;

public sealed class ShardedWeightSourceTests
{
    /// <summary>Put back together, the ranks' slices of every tensor of the bundled model are the full tensor.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void ReadAsFloat32_Stories260KSlicesOfAllRanks_ReassembleEveryTensor(int ranks)
    {
        using var model = ModelLoader.Load(TestPaths.Stories260K);
        var plan = TensorParallelPlan.Create(model.Config, ranks);
        var views = plan.Ranks.Select(shard => new ShardedWeightSource(model.Weights, shard)).ToArray();

        foreach (var info in model.Weights.Tensors)
        {
            var full = new float[info.ElementCount];
            model.Weights.ReadAsFloat32(info.Name, full);
            var rebuilt = new float[full.Length];
            var columns = info.Shape.Length == 2 ? (int)info.Shape[1] : 1;
            foreach (var view in views)
            {
                var slice = view.SliceOf(info.Name);
                var part = new float[view.GetInfo(info.Name).ElementCount];
                view.ReadAsFloat32(info.Name, part);
                Place(slice, part, rebuilt, columns);
            }

            Assert.True(full.AsSpan().SequenceEqual(rebuilt), $"{info.Name} does not reassemble from {ranks} ranks");
        }
    }

    /// <summary>bf16 bytes are sliced as stored: rows in one read, columns row by row; a row-parallel bias only on rank 0.</summary>
    [Fact]
    public void ReadRawAndFloat32_Bf16Checkpoint_ServeTheRanksBytesAndValues()
    {
        using var temp = new TempDirectory();
        var random = new Random(5);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        const string o = "model.layers.0.self_attn.o_proj.weight", k = "model.layers.0.self_attn.k_proj.weight", bias = "model.layers.0.self_attn.o_proj.bias";
        new SafetensorsWriter()
            .Add(o, TensorDType.BF16, [32, 32], Values(32 * 32))
            .Add(k, TensorDType.BF16, [16, 32], Values(16 * 32))
            .Add(bias, TensorDType.BF16, [32], Values(32))
            .Write(temp.File("model.safetensors"));
        var (full, _) = SafetensorsCheckpoint.Open(temp.Path);
        using var weights = full;
        var config = new ModelConfig
        {
            Architecture = "LlamaForCausalLM", HiddenSize = 32, IntermediateSize = 64, NumLayers = 1, NumHeads = 4, NumKvHeads = 2, HeadDim = 8, VocabSize = 64, MaxPositions = 16,
        };
        var plan = TensorParallelPlan.Create(config, 2);
        var second = new ShardedWeightSource(weights, plan.Ranks[1]);

        var fullBytes = new byte[weights.GetInfo(o).ByteCount];
        weights.ReadRaw(o, 0, fullBytes);
        var oBytes = new byte[second.GetInfo(o).ByteCount];
        second.ReadRaw(o, 0, oBytes);
        var rowBytes = 32 * 2;
        for (var row = 0; row < 32; row++)
        {
            Assert.Equal(fullBytes.AsSpan((row * rowBytes) + (16 * 2), 16 * 2).ToArray(), oBytes.AsSpan(row * 16 * 2, 16 * 2).ToArray());
        }

        var kFull = new float[16 * 32];
        weights.ReadAsFloat32(k, kFull);
        var kSlice = new float[8 * 32];
        second.ReadAsFloat32(k, kSlice);
        Assert.Equal(kFull[(8 * 32)..], kSlice);
        Assert.Equal([8L, 32L], second.GetInfo(k).Shape);
        Assert.False(second.Contains(bias));
        Assert.True(new ShardedWeightSource(weights, plan.Ranks[0]).Contains(bias));
        Assert.Throws<ModelLoadException>(() => second.GetInfo(bias));
    }

    private static void Place(TensorSlice slice, float[] part, float[] full, int columns)
    {
        switch (slice.Kind)
        {
            case SliceKind.Rows:
                part.CopyTo(full.AsSpan(slice.Range.Start * columns));
                break;
            case SliceKind.Columns:
                for (var row = 0; row < full.Length / columns; row++)
                {
                    part.AsSpan(row * slice.Range.Length, slice.Range.Length).CopyTo(full.AsSpan((row * columns) + slice.Range.Start));
                }

                break;
            case SliceKind.Replicated:
                part.CopyTo(full, 0);
                break;
        }
    }
}
