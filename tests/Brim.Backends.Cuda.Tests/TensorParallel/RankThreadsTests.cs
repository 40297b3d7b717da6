using Brim.Backends.Cuda.TensorParallel;

namespace Brim.Backends.Cuda.Tests.TensorParallel;

/// <summary>The ranks' threads run every rank's part at once (as collectives need), each once, and report a rank's failure.</summary>
public class RankThreadsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void Run_EveryRank_OnceAndAllAtOnce(int ranks)
    {
        using var threads = new RankThreads(ranks);
        for (var step = 0; step < 50; step++)
        {
            var calls = new int[ranks];
            var threadIds = new int[ranks];
            // Every rank waits for all the others, as a collective does: run one after another, this would time out.
            using var collective = new Barrier(ranks);
            threads.Run(r =>
            {
                Interlocked.Increment(ref calls[r]);
                threadIds[r] = Environment.CurrentManagedThreadId;
                Assert.True(collective.SignalAndWait(TimeSpan.FromSeconds(10)), $"rank {r} waited alone");
            });
            Assert.All(calls, c => Assert.Equal(1, c));
            Assert.Equal(ranks, threadIds.Distinct().Count());
            Assert.Equal(Environment.CurrentManagedThreadId, threadIds[0]);
        }
    }

    [Fact]
    public void Run_ARankFails_RethrowsItsExceptionAndRunsAgain()
    {
        using var threads = new RankThreads(4);
        var thrown = Assert.Throws<InvalidOperationException>(() => threads.Run(r =>
        {
            if (r == 2)
            {
                throw new InvalidOperationException("rank 2 failed");
            }
        }));
        Assert.Equal("rank 2 failed", thrown.Message);

        var ran = 0;
        threads.Run(_ => Interlocked.Increment(ref ran));
        Assert.Equal(4, ran);
    }

    /// <summary>
    /// Ranks waiting for a failed one (as in a collective it never reached) are freed by the failure hook, which runs
    /// once however many ranks then fail; the failure reported is the first, not the waiters' consequences.
    /// </summary>
    [Fact]
    public void Run_ARankFailsWhileOthersWait_TheHookFreesThemOnce()
    {
        using var threads = new RankThreads(4);
        using var aborted = new ManualResetEventSlim();
        var hooks = 0;
        var thrown = Assert.Throws<TimeoutException>(() => threads.Run(
            r =>
            {
                if (r == 0)
                {
                    throw new TimeoutException("rank 0 failed before the collective");
                }

                // The others wait as in a collective; once freed, they fail too (an aborted collective reports an error).
                Assert.True(aborted.Wait(TimeSpan.FromSeconds(10)), $"rank {r} was never freed");
                throw new InvalidOperationException($"rank {r}: aborted");
            },
            () =>
            {
                Interlocked.Increment(ref hooks);
                aborted.Set();
            }));
        Assert.Equal("rank 0 failed before the collective", thrown.Message);
        Assert.Equal(1, hooks);
    }

    [Fact]
    public void Dispose_StopsTheThreads_ThenRunIsRefused()
    {
        var threads = new RankThreads(3);
        threads.Run(_ => { });
        threads.Dispose();
        Assert.Throws<ObjectDisposedException>(() => threads.Run(_ => { }));
    }
}
