using System.Runtime.ExceptionServices;

namespace Brim.Backends.Cpu.Threading;

/// <summary>
/// A fixed set of dedicated threads that run the chunks of one <see cref="ParallelJob"/> at a time, the calling thread
/// included. Unlike Parallel.For it allocates nothing per run, and the forward pass runs hundreds of jobs per step.
/// Chunks are claimed dynamically, which is fine because no job's result depends on who runs a chunk.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    private readonly Thread[] _workers;
    private readonly SemaphoreSlim _start = new(0);
    private readonly ManualResetEventSlim _allDone = new(false);
    private ParallelJob? _job;
    private int _chunkCount;
    private int _nextChunk;
    private int _activeParticipants;
    private ExceptionDispatchInfo? _failure;
    private volatile bool _disposed;

    public WorkerPool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ThreadCount = threadCount;
        _workers = new Thread[threadCount - 1];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"brim-cpu-{i + 1}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads that run jobs, the caller's included.</summary>
    public int ThreadCount { get; }

    /// <summary>Runs chunks 0 .. <paramref name="chunkCount"/> - 1 of <paramref name="job"/> and returns when all are done.</summary>
    public void Run(ParallelJob job, int chunkCount)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (chunkCount <= 1 || _workers.Length == 0)
        {
            for (var c = 0; c < chunkCount; c++)
            {
                job.Execute(c);
            }

            return;
        }

        _job = job;
        _chunkCount = chunkCount;
        _nextChunk = 0;
        _failure = null;
        var helpers = Math.Min(_workers.Length, chunkCount - 1);

        // Every participant decrements once after its last chunk; the count reaches zero only when all claimed
        // chunks are finished. A worker may take a second permit meant for a sibling: it then decrements twice and
        // the sibling not at all, so the count still balances and no permit outlives this run.
        _activeParticipants = helpers + 1;
        _allDone.Reset();
        _start.Release(helpers);
        RunChunks();
        if (Interlocked.Decrement(ref _activeParticipants) != 0)
        {
            _allDone.Wait();
        }

        _job = null;
        _failure?.Throw();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_workers.Length > 0)
        {
            _start.Release(_workers.Length);
        }

        foreach (var worker in _workers)
        {
            worker.Join();
        }

        _start.Dispose();
        _allDone.Dispose();
    }

    private void WorkerLoop()
    {
        while (true)
        {
            _start.Wait();
            if (_disposed)
            {
                return;
            }

            RunChunks();
            if (Interlocked.Decrement(ref _activeParticipants) == 0)
            {
                _allDone.Set();
            }
        }
    }

    private void RunChunks()
    {
        var job = _job!;
        int chunk;
        while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < _chunkCount)
        {
            try
            {
                job.Execute(chunk);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            }
        }
    }
}
