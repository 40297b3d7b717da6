using Brim.Models;
using Brim.Tests;

namespace Brim.Backends.Cpu.Tests;

/// <summary>
/// A quantized checkpoint runs on the CPU backend as the float32 model of its dequantized weights: the same floats go
/// in, so the logits are bitwise equal to those of a float32 checkpoint written with the reference values.
/// </summary>
public sealed class QuantizedCheckpointForwardTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "brim-quantized-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData(PackedFormat.Awq)]
    [InlineData(PackedFormat.Gptq4)]
    [InlineData(PackedFormat.Gptq8)]
    [InlineData(PackedFormat.Fp8PerTensor)]
    [InlineData(PackedFormat.CompressedTensorsPerChannel)]
    public void Forward_QuantizedCheckpoint_EqualsFloat32ModelOfDequantizedWeightsBitwise(PackedFormat format)
    {
        var quantizedDirectory = Directory.CreateDirectory(Path.Combine(_root, "quantized")).FullName;
        var floatDirectory = Directory.CreateDirectory(Path.Combine(_root, "float")).FullName;
        var reference = QuantizedCheckpoints.Write(quantizedDirectory, format);
        QuantizedCheckpoints.WriteFloat32(floatDirectory, reference);
        var tokens = TestModels.RandomTokens(new Random(9), 21, QuantizedCheckpoints.Config.VocabSize);

        using var quantized = ModelLoader.Load(quantizedDirectory);
        using var dense = ModelLoader.Load(floatDirectory);
        using var quantizedBackend = CpuBackend.Create(quantized, new CpuBackendOptions { ThreadCount = 2 });
        using var denseBackend = CpuBackend.Create(dense, new CpuBackendOptions { ThreadCount = 2 });

        Assert.NotNull(quantized.Quantization);
        Assert.Null(dense.Quantization);
        var expected = SequenceRunner.Alone(denseBackend, tokens, blockSize: 4);
        var actual = SequenceRunner.Alone(quantizedBackend, tokens, blockSize: 4);
        Assert.Equal(expected, actual);
        Assert.Contains(expected, v => v != 0);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
