using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Tests.Kernels;

public class SamplingKernelTests(GpuFixture gpu) : IClassFixture<GpuFixture>
{
    [Theory]
    [InlineData(512, true)]
    [InlineData(128256, true)]
    [InlineData(512, false)]
    [InlineData(128256, false)]
    public void Sample_MixedParameters_MatchesReference(int vocab, bool radix)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new SamplingKernel(gpu.Device, gpu.Compiler, radix);
        (float T, int K, float P, float MinP)[] settings =
        [
            (0f, 0, 1f, 0f), (1f, 0, 1f, 0f), (0.7f, 40, 1f, 0f), (1f, 0, 0.9f, 0f), (0.8f, 50, 0.8f, 0.05f), (1.3f, 1, 1f, 0f), (1f, 0, 1f, 0.1f),
        ];
        var rows = settings.Length * 4;
        var logits = Enumerable.Range(0, rows * vocab).Select(_ => (float)(random.NextDouble() * 8)).ToArray();
        var parameters = Parameters(settings, rows, random);
        var tokens = SampleAndCompare(kernel, logits, vocab, parameters, $"{(radix ? "radix" : "bisection")} (seed {seed})");
        Assert.Equal(rows, tokens.Length);
    }

    /// <summary>
    /// On logits shaped like a language model's (a few likely tokens over a long tail, ties included), the radix kernel
    /// keeps what the rule keeps, run after run: the same tokens twice, the reference's away from boundaries. Top-k and
    /// top-p at the sizes clients send, min-p, and their mixes, at the 8B vocabulary.
    /// </summary>
    [Fact]
    public void SampleRadix_PeakedLogits_MatchesReferenceAndRepeats()
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        const int vocab = 128256;
        using var kernel = new SamplingKernel(gpu.Device, gpu.Compiler, radix: true);
        (float T, int K, float P, float MinP)[] settings =
        [
            (1f, 0, 0.95f, 0f), (0.8f, 0, 0.9f, 0f), (0.7f, 50, 1f, 0f), (1f, 1000, 0.95f, 0f), (0.8f, 50, 0.95f, 0.05f), (1f, 0, 0.5f, 0f),
            (1.5f, 0, 0.99f, 0f), (0.6f, 0, 1f, 0.02f),
        ];
        var rows = settings.Length * 4;
        var logits = new float[rows * vocab];
        for (var r = 0; r < rows; r++)
        {
            var row = logits.AsSpan(r * vocab, vocab);
            for (var i = 0; i < vocab; i++)
            {
                // A Gaussian tail rounded to a grid (ties), and a few dozen tokens standing far above it.
                var u1 = 1 - random.NextDouble();
                var normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * random.NextDouble());
                row[i] = MathF.Round((float)(normal * 2), 2);
            }

            for (var j = 0; j < 40; j++)
            {
                row[random.Next(vocab)] = 8 + (float)(random.NextDouble() * 10);
            }
        }

        var parameters = Parameters(settings, rows, random);
        var first = SampleAndCompare(kernel, logits, vocab, parameters, $"radix, peaked logits (seed {seed})");
        Assert.Equal(first, SampleAndCompare(kernel, logits, vocab, parameters, $"radix, peaked logits, again (seed {seed})"));
    }

    /// <summary>Per row, the settings in turn with a random uniform and no logprobs.</summary>
    private static float[] Parameters((float T, int K, float P, float MinP)[] settings, int rows, Random random)
    {
        var parameters = new float[rows * SamplingKernel.ParamsPerRow];
        for (var r = 0; r < rows; r++)
        {
            var s = settings[r % settings.Length];
            float[] p = [s.T, s.K, s.P, s.MinP, random.NextSingle(), -1];
            p.CopyTo(parameters.AsSpan(r * SamplingKernel.ParamsPerRow, SamplingKernel.ParamsPerRow));
        }

        return parameters;
    }

    /// <summary>Samples every row on the device; asserts the reference's token wherever the draw is away from a boundary.</summary>
    private int[] SampleAndCompare(SamplingKernel kernel, float[] logits, int vocab, float[] parameters, string what)
    {
        var rows = parameters.Length / SamplingKernel.ParamsPerRow;
        using var dLogits = gpu.Upload<float>(logits);
        using var dParams = gpu.Upload<float>(parameters);
        using var dTokens = gpu.Allocate<int>(rows);
        using var dLogprobs = gpu.Allocate<float>(rows * SamplingKernel.LogprobsPerRow);
        using var dIds = gpu.Allocate<int>(rows * ForwardOutput.MaxTopLogprobs);
        kernel.Sample(gpu.Stream, dLogits.Pointer, vocab, dParams.Pointer, dTokens.Pointer, dLogprobs.Pointer, dIds.Pointer, rows);
        var tokens = gpu.Download<int>(dTokens, rows);

        var compared = 0;
        for (var r = 0; r < rows; r++)
        {
            var p = parameters.AsSpan(r * SamplingKernel.ParamsPerRow, SamplingKernel.ParamsPerRow);
            var (expected, margin) = SamplingReference.Sample(logits.AsSpan(r * vocab, vocab), p[0], (int)p[1], p[2], p[3], p[4]);
            if (margin < 1e-4)
            {
                continue; // the target sits on a boundary: float summation order decides, not the rule
            }

            compared++;
            Assert.True(expected == tokens[r], $"{what} row {r} (T {p[0]}, k {p[1]}, p {p[2]}, min_p {p[3]}, u {p[4]}): expected {expected}, got {tokens[r]}");
        }

        Assert.True(compared >= rows / 2, $"{what}: only {compared} rows were away from boundaries");
        return tokens;
    }

    [Theory]
    [InlineData(512)]
    [InlineData(128256)]
    public void Sample_Logprobs_MatchLogSoftmaxOfTheRawLogitsAndTheTopTokens(int vocab)
    {
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        using var kernel = new SamplingKernel(gpu.Device, gpu.Compiler);
        // Per row: temperature and how many alternatives (-1: none). Logits on a coarse grid so ties occur and the
        // tie order (lower id first) is exercised; a wide spread so the log-normalizer is not the max alone.
        (float T, int Top)[] settings = [(0f, 0), (0f, 20), (0.8f, 5), (1.2f, -1), (1f, 1), (0.5f, 20)];
        var rows = settings.Length * 3;
        var logits = Enumerable.Range(0, rows * vocab).Select(_ => MathF.Round((float)(random.NextDouble() * 12), 1)).ToArray();
        var parameters = new float[rows * SamplingKernel.ParamsPerRow];
        for (var r = 0; r < rows; r++)
        {
            var s = settings[r % settings.Length];
            float[] p = [s.T, 0, 1f, 0f, random.NextSingle(), s.Top];
            p.CopyTo(parameters.AsSpan(r * SamplingKernel.ParamsPerRow, SamplingKernel.ParamsPerRow));
        }

        using var dLogits = gpu.Upload<float>(logits);
        using var dParams = gpu.Upload<float>(parameters);
        using var dTokens = gpu.Allocate<int>(rows);
        using var dLogprobs = gpu.Upload<float>(Enumerable.Repeat(7f, rows * SamplingKernel.LogprobsPerRow).ToArray());
        using var dIds = gpu.Upload<int>(Enumerable.Repeat(-5, rows * ForwardOutput.MaxTopLogprobs).ToArray());
        kernel.Sample(gpu.Stream, dLogits.Pointer, vocab, dParams.Pointer, dTokens.Pointer, dLogprobs.Pointer, dIds.Pointer, rows);
        var tokens = gpu.Download<int>(dTokens, rows);
        var logprobs = gpu.Download<float>(dLogprobs, rows * SamplingKernel.LogprobsPerRow);
        var ids = gpu.Download<int>(dIds, rows * ForwardOutput.MaxTopLogprobs);

        for (var r = 0; r < rows; r++)
        {
            var top = settings[r % settings.Length].Top;
            var lp = logprobs.AsSpan(r * SamplingKernel.LogprobsPerRow, SamplingKernel.LogprobsPerRow);
            var rowIds = ids.AsSpan(r * ForwardOutput.MaxTopLogprobs, ForwardOutput.MaxTopLogprobs);
            if (top < 0)
            {
                Assert.True(lp.ToArray().All(v => v == 7f) && rowIds.ToArray().All(i => i == -5), $"row {r} asked for no logprobs, yet they were written");
                continue;
            }

            var row = logits.AsSpan(r * vocab, vocab).ToArray();
            var logZ = LogSumExp(row);
            Assert.True(Math.Abs(lp[0] - (row[tokens[r]] - logZ)) < 1e-4, $"row {r}: chosen logprob {lp[0]}, expected {row[tokens[r]] - logZ} (seed {seed})");
            var expected = Enumerable.Range(0, vocab).OrderByDescending(i => row[i]).ThenBy(i => i).Take(top).ToArray();
            Assert.Equal(expected, rowIds[..top].ToArray());
            for (var i = 0; i < top; i++)
            {
                Assert.True(Math.Abs(lp[1 + i] - (row[expected[i]] - logZ)) < 1e-4, $"row {r} top {i}: {lp[1 + i]} (seed {seed})");
            }

            Assert.True(rowIds[top..].ToArray().All(i => i == -5), $"row {r} wrote past its {top} alternatives");
        }
    }

    private static double LogSumExp(ReadOnlySpan<float> row)
    {
        var max = double.NegativeInfinity;
        foreach (var v in row)
        {
            max = Math.Max(max, v);
        }

        var sum = 0.0;
        foreach (var v in row)
        {
            sum += Math.Exp(v - max);
        }

        return max + Math.Log(sum);
    }
}
