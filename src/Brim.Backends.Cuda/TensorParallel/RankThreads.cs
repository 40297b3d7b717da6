using System.Runtime.ExceptionServices;

namespace Brim.Backends.Cuda.TensorParallel;

/// <summary>
/// A thread per rank past the first, kept for the backend's life: every step hands each rank its part at once (a
/// rank's step blocks in its collectives until every other rank has enqueued them, so the ranks cannot run one after
/// another), rank 0 on the caller's thread. Handing off costs two event signals a rank, not a thread start.
/// </summary>
internal sealed class RankThreads : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    private readonly CountdownEvent _done;
    private Action<int>? _work;
    private Action? _onFailure;
    private Exception? _firstFailure;
    private volatile bool _stopping;

    public RankThreads(int ranks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        Ranks = ranks;
        _start = [.. Enumerable.Range(0, ranks).Select(_ => new SemaphoreSlim(0))];
        _done = new CountdownEvent(1);
        _threads = [.. Enumerable.Range(1, ranks - 1).Select(r => new Thread(() => Loop(r)) { IsBackground = true, Name = $"brim tensor-parallel rank {r}" })];
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }

    public int Ranks { get; }

    /// <summary>
    /// Runs <paramref name="work"/>(r) for every rank r at once and returns when all have; rethrows the first failure in
    /// time. <paramref name="onFailure"/> runs once, on the failing rank's thread, as soon as a rank fails: the others
    /// may be waiting for it in a collective, and only that can free them.
    /// </summary>
    public void Run(Action<int> work, Action? onFailure = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_stopping, this);
        _firstFailure = null;
        _onFailure = onFailure;
        _work = work;
        _done.Reset(Ranks - 1);
        for (var r = 1; r < Ranks; r++)
        {
            _start[r].Release();
        }

        Execute(0);
        if (Ranks > 1)
        {
            _done.Wait();
        }

        _work = null;
        _onFailure = null;
        if (_firstFailure is { } first)
        {
            ExceptionDispatchInfo.Throw(first); // the first in time: the others may only report its consequences
        }
    }

    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        for (var r = 1; r < Ranks; r++)
        {
            _start[r].Release();
        }

        foreach (var thread in _threads)
        {
            thread.Join();
        }

        foreach (var start in _start)
        {
            start.Dispose();
        }

        _done.Dispose();
    }

    private void Loop(int rank)
    {
        while (true)
        {
            _start[rank].Wait();
            if (_stopping)
            {
                return;
            }

            Execute(rank);
            _done.Signal();
        }
    }

    private void Execute(int rank)
    {
        try
        {
            _work!(rank);
        }
        catch (Exception e)
        {
            if (Interlocked.CompareExchange(ref _firstFailure, e, null) is null)
            {
                _onFailure?.Invoke();
            }
        }
    }
}
