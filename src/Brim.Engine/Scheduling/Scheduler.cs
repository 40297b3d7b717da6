using System.Diagnostics;
using Brim.Engine.KvCache;

namespace Brim.Engine.Scheduling;

/// <summary>
/// Chooses each step's work under two budgets — tokens per step and KV blocks — with iteration-level (continuous)
/// batching: sequences that finish leave at once and waiting ones join at the next step; long prompts are prefilled
/// in chunks that share steps with other sequences' decode tokens.
/// Policy, top to bottom: (1) running sequences, oldest first, get their next token (decoding ones first, then
/// prefill chunks); when the cache is full, the newest running sequence not yet scheduled this step is preempted (its
/// blocks freed, recomputed later) until the older one fits; (2) if nothing was preempted, waiting sequences join in priority then arrival order while slots, tokens and
/// blocks (above the watermark) last. In static mode a new batch is admitted only when the previous one has finished.
/// Not thread-safe: the engine's step loop owns it.
/// </summary>
public sealed class Scheduler
{
    private readonly EngineOptions _options;
    private readonly BlockManager _blocks;
    private readonly List<Sequence> _running = [];
    private readonly SortedSet<Sequence> _waiting = new(WaitingOrder.Instance);
    private readonly SchedulerOutput _output = new();
    private long _step;

    public Scheduler(EngineOptions options, BlockManager blocks)
    {
        _options = options;
        _blocks = blocks;
    }

    public IReadOnlyList<Sequence> Running => _running;

    public IReadOnlyCollection<Sequence> Waiting => _waiting;

    public bool HasWork => _running.Count > 0 || _waiting.Count > 0;

    public long TotalPreemptions { get; private set; }

    public void Add(Sequence sequence)
    {
        Debug.Assert(sequence.Status == SequenceStatus.Waiting && sequence.Blocks.Count == 0, "new sequences wait without blocks");
        _waiting.Add(sequence);
    }

    /// <summary>Removes a sequence wherever it is and returns its blocks to the pool at once.</summary>
    public void Finish(Sequence sequence)
    {
        if (sequence.Status == SequenceStatus.Running)
        {
            _running.Remove(sequence);
        }
        else if (sequence.Status == SequenceStatus.Waiting)
        {
            _waiting.Remove(sequence);
        }

        _blocks.Release(sequence.Blocks);
        sequence.Status = SequenceStatus.Finished;
    }

    /// <summary>Decides this step's chunks. The returned object is reused by the next call.</summary>
    public SchedulerOutput Schedule()
    {
        _output.Clear();
        var budget = _options.MaxBatchTokens;

        if (_options.BatchingMode == BatchingMode.Static && _running.Count == 0)
        {
            AdmitStaticBatch();
        }

        budget = ScheduleRunning(budget);

        if (_options.BatchingMode == BatchingMode.Continuous && _output.Preempted.Count == 0)
        {
            AdmitWaiting(budget);
        }

        return _output;
    }

    private int ScheduleRunning(int budget)
    {
        _step++;

        // Decode tokens first: one token each keeps every running sequence moving, and a long prefill must not push
        // them out of the step. Prefill chunks of already-running sequences take what is left of the budget.
        budget = ScheduleRunningPass(budget, decoding: true);
        return ScheduleRunningPass(budget, decoding: false);
    }

    private int ScheduleRunningPass(int budget, bool decoding)
    {
        for (var i = 0; i < _running.Count && budget > 0; i++)
        {
            var seq = _running[i];
            if (seq.ScheduledStep == _step || (seq.PendingTokens == 1) != decoding)
            {
                continue;
            }

            var n = Math.Min(seq.PendingTokens, budget);
            var needed = _blocks.BlocksFor(seq.ComputedTokens + n) - seq.Blocks.Count;

            // Make room by preempting the newest running sequence that has not been scheduled this step.
            while (!_blocks.CanAppend(needed) && NewestUnscheduled(except: seq) is { } victim)
            {
                if (_running.IndexOf(victim) < i)
                {
                    i--;
                }

                Preempt(victim);
            }

            if (!_blocks.CanAppend(needed))
            {
                Preempt(seq);
                i--;
                continue;
            }

            _blocks.EnsureCapacity(seq.Blocks, seq.ComputedTokens + n);
            seq.ScheduledStep = _step;
            _output.Chunks.Add(new ScheduledChunk(seq, n));
            _output.TokenCount += n;
            budget -= n;
        }

        return budget;
    }

    private Sequence? NewestUnscheduled(Sequence except)
    {
        for (var j = _running.Count - 1; j >= 0; j--)
        {
            var candidate = _running[j];
            if (candidate != except && candidate.ScheduledStep != _step)
            {
                return candidate;
            }
        }

        return null;
    }

    private void AdmitWaiting(int budget)
    {
        while (_waiting.Count > 0 && _running.Count < _options.MaxRunningSequences && budget > 0)
        {
            var seq = _waiting.Min!;
            if (_blocks.BlocksFor(seq.Length) > _blocks.TotalBlocks)
            {
                _waiting.Remove(seq);
                _output.Rejected.Add(seq);
                continue;
            }

            var n = Math.Min(seq.PendingTokens, budget);
            if (!_blocks.CanAdmit(_blocks.BlocksFor(n)))
            {
                break;
            }

            _waiting.Remove(seq);
            seq.Status = SequenceStatus.Running;
            _running.Add(seq);
            _blocks.EnsureCapacity(seq.Blocks, n);
            seq.ScheduledStep = _step;
            _output.Chunks.Add(new ScheduledChunk(seq, n));
            _output.TokenCount += n;
            budget -= n;
        }
    }

    private void AdmitStaticBatch()
    {
        while (_waiting.Count > 0 && _running.Count < _options.MaxRunningSequences)
        {
            var seq = _waiting.Min!;
            _waiting.Remove(seq);
            if (_blocks.BlocksFor(seq.Length) > _blocks.TotalBlocks)
            {
                _output.Rejected.Add(seq);
                continue;
            }

            seq.Status = SequenceStatus.Running;
            _running.Add(seq);
        }
    }

    private void Preempt(Sequence victim)
    {
        _running.Remove(victim);
        _blocks.Release(victim.Blocks);
        victim.ComputedTokens = 0;
        victim.Status = SequenceStatus.Waiting;
        victim.Preemptions++;
        TotalPreemptions++;
        _waiting.Add(victim);
        _output.Preempted.Add(victim);
    }

    /// <summary>Every block is free or held by a live sequence (free + used == total).</summary>
    public void CheckIntegrity()
    {
        _blocks.CheckIntegrity(_running.Select(s => s.Blocks).Concat(_waiting.Select(s => s.Blocks)));
        foreach (var seq in _waiting)
        {
            if (seq.Blocks.Count != 0 || seq.ComputedTokens != 0)
            {
                throw new InvalidOperationException($"waiting sequence {seq} holds KV state");
            }
        }
    }

    /// <summary>Lower priority value first, then first come first served.</summary>
    private sealed class WaitingOrder : IComparer<Sequence>
    {
        public static readonly WaitingOrder Instance = new();

        public int Compare(Sequence? x, Sequence? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            var c = x!.Request.Priority.CompareTo(y!.Request.Priority);
            return c != 0 ? c : x.ArrivalOrder.CompareTo(y.ArrivalOrder);
        }
    }
}
