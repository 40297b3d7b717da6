namespace Brim.Models.Tests;

public class DummyWeightSourceTests
{
    [Fact]
    public void ReadRaw_Bf16Config_YieldsRoundedSpecValuesForAnyRange()
    {
        var config = SmallConfigs.Llama(TensorDType.BF16);
        using var source = new DummyWeightSource(config, seed: 3);
        var info = source.GetInfo(LlamaTensorNames.GateWeight(1));
        var expected = new float[info.ElementCount];
        DummyWeights.Fill(3, info, 0, expected);

        var raw = new byte[2 * 1000];
        source.ReadRaw(info.Name, 2 * 500, raw);

        for (var i = 0; i < 1000; i++)
        {
            var bits = BitConverter.ToUInt16(raw, 2 * i);
            Assert.Equal(DTypeConversion.ToBFloat16Bits(expected[500 + i]), bits);
        }
    }

    [Fact]
    public void ReadAsFloat32_F16Config_EqualsReadRawConverted()
    {
        var config = SmallConfigs.Llama(TensorDType.F16);
        using var source = new DummyWeightSource(config, seed: 0);
        var info = source.GetInfo(LlamaTensorNames.Embedding);
        var floats = new float[info.ElementCount];
        var raw = new byte[info.ByteCount];

        source.ReadAsFloat32(info.Name, floats);
        source.ReadRaw(info.Name, 0, raw);

        var converted = new float[info.ElementCount];
        DTypeConversion.ToFloat32(raw, TensorDType.F16, converted);
        Assert.Equal(converted, floats);
    }

    [Fact]
    public void Tensors_AreExactlyTheManifest()
    {
        var config = SmallConfigs.Llama(TensorDType.BF16) with { AttentionBias = true, TieWordEmbeddings = false };
        using var source = new DummyWeightSource(config, seed: 0);

        Assert.Equal(WeightManifest.For(config).Select(t => t.ToString()), source.Tensors.Select(t => t.ToString()));
        Assert.Equal(config.ParameterCount, source.Tensors.Sum(t => t.ElementCount));
        Assert.Equal(0, source.DummySeed);
    }

    [Fact]
    public void ReadRaw_MisalignedRange_Throws()
    {
        using var source = new DummyWeightSource(SmallConfigs.Llama(TensorDType.BF16), seed: 0);

        Assert.Throws<ArgumentException>(() => source.ReadRaw(LlamaTensorNames.Embedding, 1, new byte[4]));
    }

    [Fact]
    public void Load_Llama31_8BShapeDummy_ReadsFarRangesWithoutMaterializing()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), SmallConfigs.Llama31_8BConfigJson);
        var before = GC.GetTotalAllocatedBytes();

        using var model = ModelLoader.Load(temp.Path, LoadFormat.Dummy, dummySeed: 1);
        var lastRow = new byte[4096 * 2];
        model.Weights.ReadRaw(LlamaTensorNames.Embedding, (128255L * 4096 * 2), lastRow);

        Assert.Equal(8_030_261_248, model.Config.ParameterCount);
        Assert.Equal(16_060_522_496, model.Weights.Tensors.Sum(t => t.ByteCount));
        Assert.True(GC.GetTotalAllocatedBytes() - before < 10_000_000, "a dummy model must not allocate its weights");
        Assert.Contains(lastRow, b => b != 0);
    }
}
