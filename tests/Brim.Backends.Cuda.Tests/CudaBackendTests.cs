using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests;

/// <summary>
/// The whole backend against the fp32 reference forward: ragged prefill of several sequences (through shuffled,
/// non-contiguous KV blocks), chunked prefill, then decode steps, eager and replayed as CUDA graphs.
/// </summary>
public class CudaBackendTests
{
    private const double Bf16LogitTolerance = 3e-2; // bf16 weights are exact in both; bf16 activations are not

    // E4M3 keeps 3 mantissa bits of every cached K and V (about 2-3 % relative error per head vector).
    private const double Fp8LogitTolerance = 1e-1;

    public static TheoryData<string, bool, bool> Cases() => new()
    {
        { "llama3", true, false },
        { "llama3", false, false },
        { "qwen2", true, false },
        { "llama2c", true, false },
        { "llama3", true, true },
        { "llama3", false, true },
        { "qwen2", true, true },
        { "llama2c", false, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_RaggedPrefillThenDecode_MatchesReference(string model, bool graphs, bool fp8Cache)
    {
        Gpu.Require();
        Assert.SkipWhen(fp8Cache && !Gpu.SupportsFp8, "FP8 KV needs sm_89+");
        var logitTolerance = fp8Cache ? Fp8LogitTolerance : Bf16LogitTolerance;
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var config = model switch
        {
            "llama3" => RandomModels.Llama3Like(),
            "qwen2" => RandomModels.Qwen2Like(),
            _ => RandomModels.Llama2cLike(),
        };
        using var weights = RandomModels.Create(config, random);
        var reference = new ReferenceLlama(config, weights);
        using var backend = new CudaBackend(config, weights, new CudaBackendOptions { UseCudaGraphs = graphs, KvCacheDType = fp8Cache ? KvCacheDType.Fp8 : KvCacheDType.Auto });

        const int blockSize = 8, numBlocks = 96;
        backend.AllocateKvCache(numBlocks, blockSize);
        var freeBlocks = new Queue<int>(Enumerable.Range(0, numBlocks).OrderBy(_ => random.Next()));
        // Sequence 3's 88-token second chunk is long enough for the long-tile prefill kernel where the shape has it
        // (PrefillTiling.UsesLongTiles); the other prompts stay on the small tiles.
        int[] promptLengths = [5, 17, 1, 100];
        var sequences = promptLengths.Select(n => Enumerable.Range(0, n).Select(_ => random.Next(config.VocabSize)).ToList()).ToArray();
        var tables = sequences.Select(_ => new List<int>()).ToArray();
        var output = new ForwardOutput(config.VocabSize);
        var worst = 0.0;

        // Step 1: sequence 3 prefills its first 12 tokens only (a non-final chunk: no logits); the others whole.
        var cached = new int[sequences.Length];
        var first = Step(sequences.Select((s, i) => i == 3 ? 12 : s.Count).ToArray());
        for (var i = 0; i < 3; i++)
        {
            worst = Math.Max(worst, CheckRow(first[i], i));
        }

        // Step 2: decode tokens of sequences 0-2 leading the rest of sequence 3's prompt (a mixed step: the decode rows
        // run on the decode kernel, the chunk, starting mid-sequence, on the prefill tiles), then decode steps for everyone.
        for (var i = 0; i < 3; i++)
        {
            sequences[i].Add(random.Next(config.VocabSize));
        }

        var second = Step([1, 1, 1, sequences[3].Count - 12]);
        for (var i = 0; i < 4; i++)
        {
            worst = Math.Max(worst, CheckRow(second[i], i));
        }
        for (var step = 0; step < 6; step++)
        {
            foreach (var s in sequences)
            {
                s.Add(random.Next(config.VocabSize));
            }

            var rows = Step(sequences.Select(_ => 1).ToArray());
            for (var i = 0; i < sequences.Length; i++)
            {
                worst = Math.Max(worst, CheckRow(rows[i], i));
            }
        }

        // Steps of two rows, then one: the gemv path (LinearLayers.DefaultGemvMaxRows), eager, captured and replayed.
        foreach (var active in new[] { new[] { 0, 2 }, [0, 2], [0, 2], [1], [1], [1] })
        {
            foreach (var i in active)
            {
                sequences[i].Add(random.Next(config.VocabSize));
            }

            var rows = Step(sequences.Select((_, i) => active.Contains(i) ? 1 : 0).ToArray());
            for (var r = 0; r < active.Length; r++)
            {
                worst = Math.Max(worst, CheckRow(rows[r], active[r]));
            }
        }

        Assert.True(worst <= logitTolerance, $"worst logit error {worst:E3} (seed {seed})");
        if (graphs)
        {
            Assert.True(backend.CapturedGraphs > 0, "decode steps were not captured as CUDA graphs");
        }

        float[][] Step(int[] counts)
        {
            var ids = new List<int>();
            var slices = new List<SequenceSlice>();
            var logitSequences = new List<int>();
            for (var i = 0; i < sequences.Length; i++)
            {
                if (counts[i] == 0)
                {
                    continue;
                }

                var end = cached[i] + counts[i];
                while (tables[i].Count * blockSize < end)
                {
                    tables[i].Add(freeBlocks.Dequeue());
                }

                var needsLogits = end == sequences[i].Count;
                slices.Add(new SequenceSlice(ids.Count, counts[i], cached[i], tables[i].ToArray(), needsLogits));
                ids.AddRange(sequences[i].GetRange(cached[i], counts[i]));
                cached[i] = end;
                if (needsLogits)
                {
                    logitSequences.Add(i);
                }
            }

            backend.Forward(new ForwardBatch(ids.ToArray(), slices.ToArray(), blockSize), output);
            Assert.False(output.Sampled);
            Assert.Equal(logitSequences.Count, output.Rows);
            return Enumerable.Range(0, output.Rows).Select(r => output.LogitRow(r).ToArray()).ToArray();
        }

        double CheckRow(float[] actual, int sequence)
        {
            var tokens = sequences[sequence];
            var all = reference.Logits(tokens);
            var expected = all.AsSpan((tokens.Count - 1) * config.VocabSize, config.VocabSize);
            var error = Compare.RelativeL2(actual, expected);
            Assert.True(error <= logitTolerance, $"sequence {sequence} at length {tokens.Count}: relative error {error:E3} (seed {seed})");
            return error;
        }
    }

    [Fact]
    public void Forward_DeviceSamplingGreedy_ReturnsArgMaxOfLogits()
    {
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var config = RandomModels.Llama3Like();
        using var weights = RandomModels.Create(config, random);
        using var backend = new CudaBackend(config, weights);
        backend.AllocateKvCache(16, 16);
        var tokens = Enumerable.Range(0, 9).Select(_ => random.Next(config.VocabSize)).ToArray();
        SequenceSlice[] slices = [new(0, 4, 0, new[] { 3 }, true), new(4, 5, 0, new[] { 7 }, true)];
        var logits = new ForwardOutput(config.VocabSize);
        backend.Forward(new ForwardBatch(tokens, slices, 16), logits);
        var expected = Enumerable.Range(0, 2).Select(r => Compare.ArgMax(logits.LogitRow(r))).ToArray();

        var sampled = new ForwardOutput(config.VocabSize);
        var rows = new DeviceSamplingRow[] { new(0f, 0, 1f, 0f, 0.5f), new(0f, 0, 1f, 0f, 0.5f) };
        backend.Forward(new ForwardBatch(tokens, slices, 16, rows), sampled);
        Assert.True(sampled.Sampled);
        Assert.Equal(expected, sampled.SampledTokens[..2]);
    }

    [Fact]
    public void Forward_DeviceSamplingWithHostRowsAndLogprobs_ReturnsOnlyThoseRowsLogitsAndTheirLogprobs()
    {
        // Three sequences in one decode-shaped step (a captured graph after warm-up): row 0 sampled with 3 alternatives,
        // row 1 returned as logits, row 2 sampled without logprobs; rows 0 and 2 sampled greedily.
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var config = RandomModels.Llama3Like();
        using var weights = RandomModels.Create(config, random);
        using var backend = new CudaBackend(config, weights);
        backend.AllocateKvCache(16, 16);
        var vocab = config.VocabSize;
        var prompt = Enumerable.Range(0, 15).Select(_ => random.Next(vocab)).ToArray();
        var logits = new ForwardOutput(vocab);
        backend.Forward(new ForwardBatch(prompt, [new(0, 5, 0, new[] { 3 }, true), new(5, 5, 0, new[] { 7 }, true), new(10, 5, 0, new[] { 9 }, true)], 16), logits);

        SequenceSlice[] decode = [new(0, 1, 5, new[] { 3 }, true), new(1, 1, 5, new[] { 7 }, true), new(2, 1, 5, new[] { 9 }, true)];
        var next = new[] { random.Next(vocab), random.Next(vocab), random.Next(vocab) };
        backend.Forward(new ForwardBatch(next, decode, 16), logits);
        var expected = Enumerable.Range(0, 3).Select(r => logits.LogitRow(r).ToArray()).ToArray();

        var rows = new DeviceSamplingRow[] { new(0f, 0, 1f, 0f, 0f, TopLogprobs: 3), DeviceSamplingRow.HostSampled, new(0f, 0, 1f, 0f, 0f) };
        var sampled = new ForwardOutput(vocab);
        for (var run = 0; run < 3; run++)
        {
            // The same step again rewrites the same K/V slots: warm-up, capture and replay must all give these outputs.
            backend.Forward(new ForwardBatch(next, decode, 16, rows), sampled);
            Assert.True(sampled.Sampled);
            Assert.Equal(1, sampled.LogitRowCount);
            Assert.False(sampled.HasLogits(0));
            Assert.True(sampled.HasLogits(1));
            Assert.False(sampled.HasLogits(2));
            var returned = sampled.LogitRow(1).ToArray();
            Assert.True(returned.Zip(expected[1]).Max(p => Math.Abs(p.First - p.Second)) < 1e-3, $"the returned row differs from the logits step's (seed {seed})");
            Assert.Equal(Compare.ArgMax(expected[0]), sampled.SampledTokens[0]);
            Assert.Equal(Compare.ArgMax(expected[2]), sampled.SampledTokens[2]);

            var logZ = Math.Log(expected[0].Sum(v => Math.Exp(v - expected[0].Max()))) + expected[0].Max();
            var (chosen, top, values) = sampled.Logprobs(0, 3);
            Assert.True(Math.Abs(chosen - (expected[0].Max() - logZ)) < 1e-4, $"chosen logprob {chosen} (seed {seed})");
            var best = Enumerable.Range(0, vocab).OrderByDescending(i => expected[0][i]).ThenBy(i => i).Take(3).ToArray();
            Assert.Equal(best, top.ToArray());
            Assert.True(values.ToArray().Zip(best).All(p => Math.Abs(p.First - (expected[0][p.Second] - logZ)) < 1e-4), $"top logprobs (seed {seed})");
            Assert.True(float.IsNaN(sampled.ChosenLogprobs[2]), "a row that asked for none has none");
        }
    }

    [Fact]
    public void Forward_F32Checkpoint_MatchesBf16Checkpoint()
    {
        Gpu.Require();
        var config = RandomModels.Llama2cLike();
        var seed = Gpu.NewSeed();
        using var bf16 = RandomModels.Create(config, new Random(seed));
        using var f32 = RandomModels.Create(config, new Random(seed), TensorDType.F32);
        var a = LastLogits(config, bf16);
        var b = LastLogits(config, f32);
        Compare.Close(a, b, 2e-2, $"F32 vs BF16 checkpoint (seed {seed})");
    }

    [Fact]
    public void Forward_BlockOutsideCache_ThrowsArgumentException()
    {
        Gpu.Require();
        var config = RandomModels.Llama2cLike();
        using var weights = RandomModels.Create(config, new Random(1));
        using var backend = new CudaBackend(config, weights);
        backend.AllocateKvCache(4, 16);
        var batch = new ForwardBatch([1, 2], [new SequenceSlice(0, 2, 0, new[] { 9 }, true)], 16);
        var error = Assert.Throws<ArgumentException>(() => backend.Forward(batch, new ForwardOutput(config.VocabSize)));
        Assert.Contains("block 9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_HighPriorityStream_SameLogitsAsTheDefaultStream()
    {
        // --model-gpu-priority high: the backend's stream is created at the context's greatest priority; the work is the same.
        Gpu.Require();
        var seed = Gpu.NewSeed();
        var config = RandomModels.Llama3Like();
        using var weights = RandomModels.Create(config, new Random(seed));
        var normal = LastLogits(config, weights);
        var high = LastLogits(config, weights, new CudaBackendOptions { HighStreamPriority = true });
        Assert.True(normal.Zip(high).Max(p => Math.Abs(p.First - p.Second)) < 1e-4, $"seed {seed}");
    }

    private static float[] LastLogits(ModelConfig config, IWeightSource weights, CudaBackendOptions? options = null)
    {
        using var backend = new CudaBackend(config, weights, options);
        backend.AllocateKvCache(8, 16);
        var output = new ForwardOutput(config.VocabSize);
        backend.Forward(new ForwardBatch([1, 5, 9, 13, 2], [new SequenceSlice(0, 5, 0, new[] { 2 }, true)], 16), output);
        return output.LogitRow(0).ToArray();
    }
}
