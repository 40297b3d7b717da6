using Xunit.Abstractions;

namespace Brim.Backends.Cpu.Tests;

public sealed class CpuBackendReferenceTests(ITestOutputHelper log)
{
    /// <summary>
    /// Float32 with fixed-order sums against a double reference: observed errors are below 4e-6 on logits up to ±27.
    /// 5e-5 absolute leaves room for that, yet catches any wrong rotation, mask, bias or norm (those move logits by
    /// 1e-2 and more).
    /// </summary>
    private const float Tolerance = 5e-5f;

    [Theory]
    [MemberData(nameof(TestModels.Names), MemberType = typeof(TestModels))]
    public void Forward_PrefillThenDecodeOnShuffledBlocks_MatchesDenseReference(string configName)
    {
        var config = TestModels.ByName(configName);
        var random = new Random(configName.Length);
        var tokens = TestModels.RandomTokens(random, 37, config.VocabSize);
        using var model = TestModels.Random(config);
        var expected = new DenseReferenceModel(config, model.Weights).Logits(tokens);

        using var backend = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = 2 });
        const int blockSize = 4;
        backend.AllocateKvCache(numBlocks: 20, blockSize);
        var blockTable = Enumerable.Range(0, 20).OrderBy(_ => random.Next()).Take(10).ToArray();
        var runner = new SequenceRunner(backend, blockTable, blockSize);

        const int prefill = 13;
        var worst = MaxAbsDifference(expected[prefill - 1], runner.Step(tokens.AsSpan(0, prefill)));
        for (var p = prefill; p < tokens.Length; p++)
        {
            worst = Math.Max(worst, MaxAbsDifference(expected[p], runner.Step(tokens.AsSpan(p, 1))));
        }

        log.WriteLine($"{configName}: max |logit - reference| = {worst:E2}, logits span ±{expected.SelectMany(r => r).Max(Math.Abs):F2}");
        Assert.InRange(worst, 0, Tolerance);
    }

    [Fact]
    public void Forward_OutputAndMlpBiasesPresent_MatchesDenseReference()
    {
        var config = TestModels.Llama31 with { AttentionBias = true };
        var tokens = TestModels.RandomTokens(new Random(9), 20, config.VocabSize);
        using var model = new Brim.Models.LoadedModel(config, new ExtraBiasWeightSource(config, 3), "biased");
        var expected = new DenseReferenceModel(config, model.Weights).Logits(tokens);
        using var backend = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = 2 });

        var actual = SequenceRunner.Alone(backend, tokens, blockSize: 8);

        Assert.InRange(MaxAbsDifference(expected[^1], actual), 0, Tolerance);
    }

    [Fact]
    public void InverseFrequencies_Llama3Scaling_MatchesReferenceRuleInEveryBand()
    {
        var config = TestModels.Llama31;
        var unscaled = DenseReferenceModel.InverseFrequencies(config with { RopeScaling = null });
        var expected = DenseReferenceModel.InverseFrequencies(config);
        var actual = Kernels.RotaryEmbedding.InverseFrequencies(config);

        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], expected[i] * 1e-6);
        }

        // The config is chosen so that kept, blended and divided frequencies all occur.
        var ratios = unscaled.Zip(expected, (u, e) => u / e).ToArray();
        Assert.Contains(ratios, r => Math.Abs(r - 1) < 1e-9);
        Assert.Contains(ratios, r => Math.Abs(r - 8) < 1e-9);
        Assert.Contains(ratios, r => r is > 1.01 and < 7.99);
    }

    private static float MaxAbsDifference(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(float.IsFinite(actual[i]), $"logit {i} is {actual[i]}");
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        }

        return worst;
    }
}
