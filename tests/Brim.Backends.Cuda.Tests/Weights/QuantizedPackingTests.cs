using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Weights;
using Brim.Models;
using Brim.Tests;

namespace Brim.Backends.Cuda.Tests.Weights;

/// <summary>
/// Host-side (runs in CI): every layer of a packed checkpoint, repacked into the device layout, holds the weights the
/// checkpoint's format defines (from the codes the writer drew, not from Brim's unpackers): exactly for FP8 and int8,
/// within the half rounding of the folded zero point for int4.
/// </summary>
public class QuantizedPackingTests
{
    [Theory]
    [InlineData(PackedFormat.Awq, 32, WeightQuantization.Int4)]
    [InlineData(PackedFormat.Awq, -1, WeightQuantization.Int4)]
    [InlineData(PackedFormat.Gptq4, 32, WeightQuantization.Int4)]
    [InlineData(PackedFormat.Gptq8, 16, WeightQuantization.Int8)]
    [InlineData(PackedFormat.Fp8PerTensor, 0, WeightQuantization.Fp8)]
    [InlineData(PackedFormat.CompressedTensorsPerChannel, 0, WeightQuantization.Fp8)]
    public void Pack_EveryLayer_DeviceLayoutHoldsTheCheckpointsWeights(PackedFormat format, int groupSize, WeightQuantization expectedQuantization)
    {
        var expectedFormat = LinearWeight.FormatOf(expectedQuantization);
        using var checkpoint = QuantizedCheckpoints.WriteAndLoad(format, groupSize: groupSize == 0 ? QuantizedCheckpoints.GroupSize : groupSize);
        var quantization = checkpoint.Model.Quantization!;
        Assert.NotEmpty(quantization.Linears);
        foreach (var layer in quantization.Linears)
        {
            var packed = QuantizedPacking.Pack(layer, quantization.Packed!);
            Assert.Equal(expectedFormat, packed.Format);
            Assert.Equal(LinearWeight.CodeBytes(packed.Format, layer.OutFeatures, layer.InFeatures), packed.Codes.Length);
            Assert.Equal(LinearWeight.ScaleBytes(packed.Format, layer.OutFeatures, layer.InFeatures, packed.GroupWidth), packed.Scales.Length);
            var actual = QuantLayouts.Dequantize(packed.Format, packed.Codes, packed.Scales, layer.OutFeatures, layer.InFeatures, packed.GroupWidth);
            var want = checkpoint.Expected[layer.WeightName];
            for (var i = 0; i < want.Length; i++)
            {
                // int4 folds -zero·scale into a half: off by at most half an f16 ulp of 15·scale.
                var tolerance = expectedFormat == WeightFormat.Int4 ? 1e-3f * MathF.Max(1f, MathF.Abs(want[i])) : 0f;
                Assert.True(MathF.Abs(actual[i] - want[i]) <= tolerance, $"{layer.WeightName}[{i}]: {actual[i]} != {want[i]}");
            }
        }
    }

    [Fact]
    public void Unsupported_GroupsNotWholeChunks_NamesTheWidths()
    {
        Assert.Null(LinearWeight.Unsupported(WeightFormat.Int4, 4096, 128));
        Assert.Contains("multiples of 32, got 172", LinearWeight.Unsupported(WeightFormat.Int4, 172, 172), StringComparison.Ordinal);
        Assert.Contains("group 16 for 64 inputs", LinearWeight.Unsupported(WeightFormat.Int4, 64, 16), StringComparison.Ordinal);
        Assert.Null(LinearWeight.Unsupported(WeightFormat.Int8, 64, 16));
        Assert.Null(LinearWeight.Unsupported(WeightFormat.Fp8, 48, 0));
    }
}
