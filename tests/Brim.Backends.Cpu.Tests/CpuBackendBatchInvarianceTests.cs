using Brim.Core.Execution;
using Xunit.Abstractions;

namespace Brim.Backends.Cpu.Tests;

/// <summary>
/// The backend's central invariant: a sequence's logits are bitwise the same alone or in any batch, at any place in
/// it, under any chunking of its prefill, in shuffled KV blocks, for any thread count, with a float32 or an int8 KV cache;
/// and a slice's several logit rows (speculative verification) are each the row a one-token step at that position gives.
/// </summary>
public sealed class CpuBackendBatchInvarianceTests(ITestOutputHelper log)
{
    private const int BlockSize = 4;

    [Theory]
    [InlineData(nameof(TestModels.Llama2c), 1, 11, KvCacheDType.Auto)]
    [InlineData(nameof(TestModels.Llama31), 3, 12, KvCacheDType.Auto)]
    [InlineData(nameof(TestModels.Qwen2), 2, 13, KvCacheDType.Auto)]
    [InlineData(nameof(TestModels.Mistral), 4, 14, KvCacheDType.Auto)]
    [InlineData(nameof(TestModels.Llama2c), 2, 21, KvCacheDType.Int8)]
    [InlineData(nameof(TestModels.Llama31), 1, 22, KvCacheDType.Int8)]
    [InlineData(nameof(TestModels.Qwen2), 4, 23, KvCacheDType.Int8)]
    [InlineData(nameof(TestModels.Mistral), 3, 24, KvCacheDType.Int8)]
    public void Forward_InterleavedChunksAndDecodesOfManySequences_BitwiseEqualsEachSequenceAlone(string configName, int threads, int seed, KvCacheDType kvCacheDType)
    {
        var config = TestModels.ByName(configName);
        var random = new Random(seed);
        int[] lengths = [23, 9, 31, 14, 5, 18];
        var sequences = lengths.Select(n => TestModels.RandomTokens(random, n, config.VocabSize)).ToArray();
        using var model = TestModels.Random(config);
        using var batched = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = threads, KvCacheDType = kvCacheDType });
        using var alone = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = 1, KvCacheDType = kvCacheDType });

        // Each sequence gets blocks scattered over a shuffled pool with spare blocks in between.
        var blocksPerSequence = lengths.Select(n => (n + BlockSize - 1) / BlockSize).ToArray();
        var pool = Enumerable.Range(0, blocksPerSequence.Sum() + 7).OrderBy(_ => random.Next()).ToArray();
        batched.AllocateKvCache(pool.Length, BlockSize);
        var blockTables = new int[sequences.Length][];
        for (int s = 0, next = 0; s < sequences.Length; next += blocksPerSequence[s], s++)
        {
            blockTables[s] = pool[next..(next + blocksPerSequence[s])];
        }

        var progress = new int[sequences.Length];
        var output = new ForwardOutput(config.VocabSize);
        var compared = 0;
        var steps = 0;
        while (progress.Where((p, s) => p < lengths[s]).Any())
        {
            // A step: a random subset of the unfinished sequences, in random order, each with a random chunk
            // (often a single token, like a decode step), asking for logits about two times in three.
            var chosen = Enumerable.Range(0, sequences.Length).Where(s => progress[s] < lengths[s] && random.Next(3) != 0).OrderBy(_ => random.Next()).ToList();
            if (chosen.Count == 0)
            {
                continue;
            }

            var tokens = new List<int>();
            var slices = new List<SequenceSlice>();
            var logitOwners = new List<(int Sequence, int LastPosition)>();
            foreach (var s in chosen)
            {
                var remaining = lengths[s] - progress[s];
                var chunk = random.Next(2) == 0 ? 1 : random.Next(1, Math.Min(remaining, 9) + 1);
                chunk = Math.Min(chunk, remaining);
                var needsLogits = random.Next(3) != 0;

                // Half the slices that need logits ask for several trailing rows, as a slice verifying a draft does.
                var logitTokens = needsLogits && random.Next(2) == 0 ? random.Next(1, chunk + 1) : 1;
                slices.Add(new SequenceSlice(tokens.Count, chunk, progress[s], blockTables[s], needsLogits, logitTokens));
                tokens.AddRange(sequences[s].AsSpan(progress[s], chunk));
                for (var k = logitTokens - 1; needsLogits && k >= 0; k--)
                {
                    logitOwners.Add((s, progress[s] + chunk - 1 - k));
                }

                progress[s] += chunk;
            }

            batched.Forward(new ForwardBatch([.. tokens], [.. slices], BlockSize), output);
            steps++;
            Assert.Equal(logitOwners.Count, output.Rows);
            for (var row = 0; row < logitOwners.Count; row++)
            {
                var (s, last) = logitOwners[row];
                var expected = SequenceRunner.Alone(alone, sequences[s][..(last + 1)], BlockSize);
                Assert.Equal(Bits(expected), Bits(output.LogitRow(row)));
                compared++;
            }
        }

        log.WriteLine($"{configName}, {kvCacheDType.Name()} cache, {threads} threads: {compared} logit rows over {steps} steps bitwise equal to the sequence alone");
        Assert.True(compared > 20);
    }

    [Fact]
    public void ForwardBatch_MoreLogitRowsThanTokens_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ForwardBatch([1, 2], [new SequenceSlice(0, 2, 0, new[] { 0 }, NeedsLogits: true, LogitTokens: 3)], BlockSize));
        Assert.Contains("3 logit rows", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(KvCacheDType.Auto)]
    [InlineData(KvCacheDType.Int8)]
    public void Forward_SameBatchTwiceOnFreshCaches_GivesSameBits(KvCacheDType kvCacheDType)
    {
        var config = TestModels.Llama31;
        using var model = TestModels.Random(config);
        using var backend = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = 2, KvCacheDType = kvCacheDType });
        var tokens = TestModels.RandomTokens(new Random(5), 30, config.VocabSize);
        var first = SequenceRunner.Alone(backend, tokens, BlockSize);

        // Churn the managed heap so that arrays move between the runs: alignment must not matter.
        for (var i = 0; i < 50; i++)
        {
            GC.KeepAlive(new float[1000 + i]);
        }

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var second = SequenceRunner.Alone(backend, tokens, BlockSize);
        Assert.Equal(Bits(first), Bits(second));
    }

    private static int[] Bits(ReadOnlySpan<float> values)
    {
        var bits = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            bits[i] = BitConverter.SingleToInt32Bits(values[i]);
        }

        return bits;
    }
}
