using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Tests;

/// <summary>
/// The pinned-memory swap space: a sequence's K/V swapped out, its cache blocks overwritten by another sequence,
/// swapped back into other blocks, continues with exactly the logits of a run that was never preempted. The copies are
/// only enqueued on the compute stream, never waited for, so this also checks that stream order alone orders them with
/// the forward passes (eager and CUDA graphs).
/// </summary>
public class KvSwapSpaceTests
{
    private const int BlockSize = 16;

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void SwapOutClobberSwapIn_Continuation_EqualsUnpreemptedRun(bool graphs, bool fp8Cache)
    {
        Gpu.Require();
        Assert.SkipWhen(fp8Cache && !Gpu.SupportsFp8, "FP8 KV needs sm_89+");
        var seed = Gpu.NewSeed();
        var random = new Random(seed);
        var config = RandomModels.Llama3Like();
        using var weights = RandomModels.Create(config, random);
        using var backend = new CudaBackend(config, weights, new CudaBackendOptions { UseCudaGraphs = graphs, KvCacheDType = fp8Cache ? KvCacheDType.Fp8 : KvCacheDType.Auto });
        var swap = backend.SwapSpace;
        Assert.Equal(4L << 30, swap.DefaultBytes);
        swap.Allocate(8, BlockSize);
        Assert.True(swap.CopyBytesPerSecond is > 1e8 and < double.PositiveInfinity, $"measured copy rate {swap.CopyBytesPerSecond:E2} B/s");
        backend.AllocateKvCache(32, BlockSize);

        var prompt = Tokens(random, 40, config.VocabSize);       // 3 blocks
        var continuation = Tokens(random, 12, config.VocabSize); // grows into a 4th
        var other = Tokens(random, 48, config.VocabSize);
        var output = new ForwardOutput(config.VocabSize);

        // Unpreempted, in blocks 0..3; run twice so that the second run's decode steps replay captured graphs too.
        Run(prompt, continuation, [0, 1, 2, 3], [0, 1, 2, 3], preempt: null);
        var expected = Run(prompt, continuation, [0, 1, 2, 3], [0, 1, 2, 3], preempt: null);

        // Preempted after the prompt, in blocks 4, 5, 6: out to swap blocks 5, 6 (one run) and 0; another sequence
        // overwrites 4..6; back in 9, 10 (one run) and 13, with 20 for the growth.
        var actual = Run(prompt, continuation, [4, 5, 6], [9, 10, 13, 20], () =>
        {
            swap.SwapOut([new(4, 5), new(5, 6), new(6, 0)]);
            Forward(other, 0, [4, 5, 6]);
            swap.SwapIn([new(5, 9), new(6, 10), new(0, 13)]);
        });

        for (var i = 0; i < expected.Length; i++)
        {
            var error = Compare.RelativeL2(actual[i], expected[i]);
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"row {i}: logits differ from the unpreempted run (relative error {error:E3}, seed {seed})");
        }

        float[][] Run(int[] tokens, int[] next, int[] promptBlocks, int[] blocks, Action? preempt)
        {
            var rows = new List<float[]> { Forward(tokens, 0, promptBlocks) };
            preempt?.Invoke();
            for (var i = 0; i < next.Length; i++)
            {
                rows.Add(Forward([next[i]], tokens.Length + i, blocks));
            }

            return [.. rows];
        }

        float[] Forward(int[] tokens, int position, int[] blocks)
        {
            backend.Forward(new ForwardBatch(tokens, [new SequenceSlice(0, tokens.Length, position, blocks, NeedsLogits: true)], BlockSize), output);
            return output.LogitRow(0).ToArray();
        }
    }

    [Fact]
    public void Swap_BlockOutsideEitherSide_ThrowsNamingIt()
    {
        Gpu.Require();
        var config = RandomModels.Llama3Like();
        using var weights = RandomModels.Create(config, new Random(1));
        using var backend = new CudaBackend(config, weights);
        var swap = backend.SwapSpace;
        swap.Allocate(2, BlockSize);
        backend.AllocateKvCache(4, BlockSize);
        Assert.Contains("block 2", Assert.Throws<ArgumentException>(() => swap.SwapOut([new(0, 2)])).Message);
        Assert.Contains("block 4", Assert.Throws<ArgumentException>(() => swap.SwapIn([new(0, 3), new(1, 4)])).Message);
    }

    private static int[] Tokens(Random random, int count, int vocab) => Enumerable.Range(0, count).Select(_ => random.Next(vocab)).ToArray();
}
