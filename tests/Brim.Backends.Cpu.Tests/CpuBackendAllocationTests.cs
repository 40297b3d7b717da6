using Brim.Core.Execution;

namespace Brim.Backends.Cpu.Tests;

/// <summary>Runs alone (the allocation counter is process-wide, so no other test may run meanwhile).</summary>
[CollectionDefinition(nameof(CpuBackendAllocationTests), DisableParallelization = true)]
[Collection(nameof(CpuBackendAllocationTests))]
public sealed class CpuBackendAllocationTests
{
    private const int BlockSize = 4;
    private static readonly int[] Blocks = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22];
    private static readonly int[] OtherBlocks = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23];

    [Theory]
    [InlineData(KvCacheDType.Auto)]
    [InlineData(KvCacheDType.Int8)]
    public void Forward_DecodeStepsAfterWarmUp_AllocateNothing(KvCacheDType kvCacheDType)
    {
        using var model = TestModels.Random(TestModels.Llama31);
        using var backend = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = 2, KvCacheDType = kvCacheDType });
        backend.AllocateKvCache(24, BlockSize);
        var output = new ForwardOutput(backend.VocabSize);
        var prefill = new ForwardBatch(
            [1, 2, 3, 4, 5, 6, 7, 8, 9],
            [new SequenceSlice(0, 5, 0, Blocks, true), new SequenceSlice(5, 4, 0, OtherBlocks, true)],
            BlockSize);
        backend.Forward(prefill, output);
        // Warm-up sizes the reusable buffers: they grow (geometrically) only for a batch or context longer than
        // any before, so one step at the longest context comes first; then ten steps must run on them alone.
        var steps = Enumerable.Range(5, 40).Select(p => Decode(p, p - 1)).ToArray();
        for (var i = 0; i < 30; i++)
        {
            backend.Forward(steps[i], output);
        }

        backend.Forward(steps[^1], output);

        // The process-wide counter also sees the runtime's and test runner's own threads, which allocate a few hundred
        // bytes now and then (more on a loaded machine). A per-step allocation anywhere in the backend (its worker
        // threads included) costs at least one 24-byte object per step, so over 100 steps it exceeds what that noise
        // adds; the calling thread's own counter is exact and must stay at zero.
        const int stepsPerAttempt = 100;
        var attempts = new List<(long Thread, long Process)>();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            var beforeThread = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < stepsPerAttempt; i++)
            {
                backend.Forward(steps[30 + (i % 10)], output);
            }

            var thread = GC.GetAllocatedBytesForCurrentThread() - beforeThread;
            attempts.Add((thread, GC.GetTotalAllocatedBytes(precise: true) - before));
            if (attempts[^1] is (0L, < 24L * stepsPerAttempt))
            {
                break;
            }
        }

        Assert.True(
            attempts.Exists(a => a is (0L, < 24L * stepsPerAttempt)),
            $"every attempt allocated (thread, process bytes over {stepsPerAttempt} steps): {string.Join(", ", attempts)}");
    }

    private static ForwardBatch Decode(int firstPosition, int secondPosition) =>
        new([10, 11], [new SequenceSlice(0, 1, firstPosition, Blocks, true), new SequenceSlice(1, 1, secondPosition, OtherBlocks, true)], BlockSize);
}
