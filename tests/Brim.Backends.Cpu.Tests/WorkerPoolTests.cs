using Brim.Backends.Cpu.Threading;

namespace Brim.Backends.Cpu.Tests;

public sealed class WorkerPoolTests
{
    [Theory]
    [InlineData(1, 7)]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 1000)]
    public void Run_ManyTimes_ExecutesEveryChunkExactlyOnce(int threads, int chunks)
    {
        using var pool = new WorkerPool(threads);
        var job = new CountingJob(chunks);
        for (var run = 0; run < 200; run++)
        {
            pool.Run(job, chunks);
        }

        Assert.All(job.Counts, count => Assert.Equal(200, count));
    }

    [Fact]
    public void Run_ChunkThrows_RethrowsOnCallerAndStaysUsable()
    {
        using var pool = new WorkerPool(3);
        var error = Assert.Throws<InvalidOperationException>(() => pool.Run(new ThrowingJob(), 50));
        Assert.Equal("chunk 17", error.Message);

        var job = new CountingJob(10);
        pool.Run(job, 10);
        Assert.All(job.Counts, count => Assert.Equal(1, count));
    }

    private sealed class CountingJob(int chunks) : ParallelJob
    {
        public int[] Counts { get; } = new int[chunks];

        public override void Execute(int chunk) => Interlocked.Increment(ref Counts[chunk]);
    }

    private sealed class ThrowingJob : ParallelJob
    {
        public override void Execute(int chunk)
        {
            if (chunk == 17)
            {
                throw new InvalidOperationException("chunk 17");
            }
        }
    }
}
