using Brim.Backends.Cuda.Tests.Support;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Execution;

/// <summary>
/// Programmatic dependent launch changes when the decode path's kernels start, never what they compute: with it on,
/// prefill and decode steps (eager and replayed as CUDA graphs, one row and several, the attention split into
/// partitions and reduced) give bit-for-bit the logits of the same backend launching every kernel plainly. A kernel
/// that read its predecessor's output before pdl_wait would race and differ.
/// </summary>
public class ProgrammaticLaunchTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Steps_ProgrammaticLaunch_SameLogitsAsPlainLaunches(bool int4Weights, bool fp8Cache)
    {
        Gpu.Require();
        Assert.SkipUnless(Gpu.SupportsProgrammaticLaunch, "programmatic dependent launch needs sm_90");
        // head_dim 128: the decode-attention kernels (decode_attention.cu, decode_attention_fp8.cu) serve the shape.
        var config = RandomModels.Llama3Like() with { HiddenSize = 512, IntermediateSize = 1024, NumHeads = 4, NumKvHeads = 2, HeadDim = 128 };
        var seed = Gpu.NewSeed();
        using var weights = RandomModels.Create(config, new Random(seed));
        var quantization = int4Weights
            ? new ModelQuantization { Kind = WeightQuantization.Int4, StoredBytes = 0, Unquantized = weights, Description = "int4 (test)" }
            : null;
        var kvType = fp8Cache ? KvCacheDType.Fp8 : KvCacheDType.Auto;
        using var programmatic = new CudaBackend(config, weights, new CudaBackendOptions { UseProgrammaticLaunch = true, KvCacheDType = kvType }, quantization);
        using var plain = new CudaBackend(config, weights, new CudaBackendOptions { UseProgrammaticLaunch = false, KvCacheDType = kvType }, quantization);
        Assert.True(programmatic.ProgrammaticLaunch);
        Assert.False(plain.ProgrammaticLaunch);

        var want = Steps(plain, config.VocabSize);
        var got = Steps(programmatic, config.VocabSize);
        Assert.True(programmatic.CapturedGraphs > 0, "no decode step was replayed as a graph");
        for (var step = 0; step < want.Length; step++)
        {
            var differing = want[step].Zip(got[step]).Count(p => BitConverter.SingleToInt32Bits(p.First) != BitConverter.SingleToInt32Bits(p.Second));
            Assert.True(differing == 0, $"step {step}: {differing} of {want[step].Length} logits differ (seed {seed}, int4 {int4Weights}, fp8 KV {fp8Cache})");
        }
    }

    /// <summary>
    /// A prefill of three prompts, then decode steps of all three (several rows), then of the longest alone (one row:
    /// gemv, its attention split into partitions); every logit row of every step.
    /// </summary>
    private static float[][] Steps(CudaBackend backend, int vocab)
    {
        const int blockSize = 16;
        backend.AllocateKvCache(48, blockSize);
        int[] lengths = [7, 40, 150];
        int[][] tables = [[0, 1], [2, 3, 4, 5], [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]];
        var output = new ForwardOutput(vocab);
        var logits = new List<float[]>();
        var start = 0;
        var prefillSlices = lengths.Select((n, s) => { var slice = new SequenceSlice(start, n, 0, tables[s], true); start += n; return slice; }).ToArray();
        var prompt = lengths.SelectMany((n, s) => Enumerable.Range(0, n).Select(i => ((i * 31) + (s * 7)) % (vocab - 3) + 1)).ToArray();
        backend.Forward(new ForwardBatch(prompt, prefillSlices, blockSize), output);
        logits.Add(Rows(output, lengths.Length));
        var context = (int[])lengths.Clone();
        for (var step = 0; step < 8; step++)
        {
            var active = step < 4 ? [0, 1, 2] : new[] { 2 };
            var tokens = active.Select(s => ((step * 13) + (s * 5)) % (vocab - 3) + 1).ToArray();
            var slices = active.Select((s, row) => new SequenceSlice(row, 1, context[s], tables[s], true)).ToArray();
            backend.Forward(new ForwardBatch(tokens, slices, blockSize), output);
            logits.Add(Rows(output, active.Length));
            foreach (var s in active)
            {
                context[s]++;
            }
        }

        return [.. logits];
    }

    private static float[] Rows(ForwardOutput output, int rows) => Enumerable.Range(0, rows).SelectMany(r => output.LogitRow(r).ToArray()).ToArray();
}
