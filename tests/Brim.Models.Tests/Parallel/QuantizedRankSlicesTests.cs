using Brim.Models.Parallel;
using Brim.Tests;

namespace Brim.Models.Tests.Parallel;

/// <summary>
/// A rank's part of a quantized checkpoint, read through its sliced raw tensors and dequantized as any layer is, equals
/// the rank's slice of the whole checkpoint's dequantized weight, exactly: every format's packing (AWQ words of outputs,
/// GPTQ words of inputs and zero words of outputs, FP8 per-tensor and per-channel scales) is carried through the split.
/// </summary>
public class QuantizedRankSlicesTests
{
    [Theory]
    [InlineData(PackedFormat.Awq, 2)]
    [InlineData(PackedFormat.Gptq4, 2)]
    [InlineData(PackedFormat.Gptq8, 2)]
    [InlineData(PackedFormat.Fp8PerTensor, 2)]
    [InlineData(PackedFormat.Fp8PerTensor, 4)] // KV heads replicated: two ranks each hold one
    [InlineData(PackedFormat.CompressedTensorsPerChannel, 4)]
    public void RankLayers_Dequantized_EqualTheWholeWeightsSlice(PackedFormat format, int worldSize)
    {
        using var temp = new TempDirectory();
        var expected = QuantizedCheckpoints.Write(temp.Path, format);
        using var model = ModelLoader.Load(temp.Path);
        var full = model.Quantization!;
        var plan = TensorParallelPlan.Create(model.Config, worldSize);
        foreach (var shard in plan.Ranks)
        {
            var rank = QuantizedRankSlices.For(full, shard);
            Assert.Equal(full.Linears.Count, rank.Linears.Count);
            Assert.Equal(full.Kind, rank.Kind);
            Assert.Contains($"rank {shard.Rank} of {worldSize}", rank.Description, StringComparison.Ordinal);
            foreach (var layer in rank.Linears)
            {
                var whole = full.Linears.Single(l => l.WeightName == layer.WeightName);
                var slice = shard.SliceOf(new TensorInfo(layer.WeightName, TensorDType.F32, [whole.OutFeatures, whole.InFeatures]));
                var actual = new float[(long)layer.OutFeatures * layer.InFeatures];
                layer.Dequantize(rank.Packed!, actual);
                var want = Slice(expected[layer.WeightName], whole.OutFeatures, whole.InFeatures, slice);
                Assert.True(want.AsSpan().SequenceEqual(actual), $"{layer.WeightName} on rank {shard.Rank} of {worldSize} ({format}) differs from the whole weight's {slice}");
            }

            Assert.InRange(rank.StoredBytes, 1, full.StoredBytes - 1);
        }
    }

    [Theory]
    [InlineData(PackedFormat.Awq)]
    [InlineData(PackedFormat.Gptq4)]
    public void Split_InsideAGroup_RefusedNamingLayerRankAndRange(PackedFormat format)
    {
        using var temp = new TempDirectory();
        QuantizedCheckpoints.Write(temp.Path, format);
        using var model = ModelLoader.Load(temp.Path);
        var plan = TensorParallelPlan.Create(model.Config, 4); // o_proj: 8 inputs a rank, groups of 16

        var error = Assert.Throws<ModelLoadException>(() => QuantizedRankSlices.For(model.Quantization!, plan.Ranks[1]));

        Assert.Contains("o_proj", error.Message, StringComparison.Ordinal);
        Assert.Contains("rank 1 of 4", error.Message, StringComparison.Ordinal);
        Assert.Contains("[8, 16)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void QuantizedOnLoad_HasNoRawTensorsToSlice()
    {
        var onLoad = new ModelQuantization { Kind = WeightQuantization.Int4, StoredBytes = 1, Description = "int4 g128, quantized on load" };
        var plan = TensorParallelPlan.Create(QuantizedCheckpoints.Config, 2);
        Assert.Throws<ArgumentException>(() => QuantizedRankSlices.For(onLoad, plan.Ranks[0]));
    }

    private static float[] Slice(float[] whole, int rows, int columns, TensorSlice slice) => slice.Kind switch
    {
        SliceKind.Rows => whole.AsSpan(slice.Range.Start * columns, slice.Range.Length * columns).ToArray(),
        SliceKind.Columns => [.. Enumerable.Range(0, rows).SelectMany(r => whole.AsSpan((r * columns) + slice.Range.Start, slice.Range.Length).ToArray())],
        _ => throw new InvalidOperationException($"{slice}: a linear layer is split by rows or columns"),
    };
}
