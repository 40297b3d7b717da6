using Brim.Models;
using Xunit.Abstractions;

namespace Brim.Backends.Cpu.Tests;

/// <summary>
/// The accuracy cost of each on-load format on the bundled model: logits against the unquantized run over 48 prefixes
/// (measured: int8 0.27, fp8 1.6, int4 4.4 at worst; top-1 kept at 47, 46 and 38 of 48
/// positions). Bounds leave room above those; the math is deterministic, so they move only with the formats.
/// </summary>
public sealed class QuantizedOnLoadDriftTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(WeightQuantization.Fp8, 2.5f)]
    [InlineData(WeightQuantization.Int8, 0.5f)]
    [InlineData(WeightQuantization.Int4, 6f)]
    public void Forward_Stories260KQuantizedOnLoad_LogitsDriftBoundedAndTopTokenMostlyKept(WeightQuantization kind, float maxDrift)
    {
        var tokens = TestModels.RandomTokens(new Random(4), 48, 512);
        using var plain = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "Models", "stories260K", "stories260K.bin"));
        using var quantized = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "Models", "stories260K", "stories260K.bin"), quantization: kind);
        using var plainBackend = CpuBackend.Create(plain, new CpuBackendOptions { ThreadCount = 2 });
        using var quantizedBackend = CpuBackend.Create(quantized, new CpuBackendOptions { ThreadCount = 2 });

        float worst = 0;
        var agree = 0;
        for (var length = 1; length <= tokens.Length; length++)
        {
            var expected = SequenceRunner.Alone(plainBackend, tokens[..length], blockSize: 16);
            var actual = SequenceRunner.Alone(quantizedBackend, tokens[..length], blockSize: 16);
            worst = Math.Max(worst, expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max());
            agree += Array.IndexOf(expected, expected.Max()) == Array.IndexOf(actual, actual.Max()) ? 1 : 0;
        }

        log.WriteLine($"{kind}: max |logit drift| {worst:F3}, top-1 kept at {agree} of {tokens.Length} positions");
        Assert.InRange(worst, 1e-6f, maxDrift);
        Assert.InRange(agree, tokens.Length * 3 / 4, tokens.Length);
    }
}
