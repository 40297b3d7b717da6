using System.Diagnostics;
using Brim.Core;
using Brim.Engine.KvCache;

namespace Brim.Engine.Scheduling;

/// <summary>
/// Chooses each step's work under two budgets — tokens per step and KV blocks — with iteration-level (continuous)
/// batching: sequences that finish leave at once and waiting ones join at the next step; long prompts are prefilled
/// in chunks that share steps with other sequences' decode tokens. Online and offline traffic share the batch through
/// <see cref="TrafficPolicy"/>.
/// Policy, top to bottom:
/// (1) running sequences get their next tokens: every decode token first, then prefill chunks, online before offline;
///     when the KV cache is full, running sequences give up their blocks in <see cref="TrafficPolicy.VictimRank"/> order
///     (offline first, newest first), swapped to host memory or recomputed later as <see cref="PreemptionPolicy"/>
///     decides (see Scheduler.Preemption.cs);
/// (2) unless that happened, swapped online sequences resume, then waiting online requests join, in priority then
///     arrival order, while slots (all but those offline's reserve holds), tokens and blocks (above the watermark) last;
///     an online request that has waited past the batch window for a slot or blocks makes an offline sequence above the
///     reserve step aside;
/// (3) swapped offline sequences resume, then offline requests backfill the slots left (but the online headroom), or
///     only up to their reserve while online latency nears its SLO.
/// Under a step-time budget or a TPOT target, offline chunks (decode, prefill and new admissions alike) also share the
/// step's offline allowance: predicted seconds (<see cref="OfflineTokenCap.OfflineSeconds"/>) from the one step cost
/// model, computed before anything is placed from the online work this step is expected to carry (tokens, before the
/// model is fitted). Offline decode rows come first and prefill chunks shrink to what is left; offline sequences beyond
/// it sit the step out, and no new offline sequence is admitted, so offline holds about as many slots as it can advance
/// (a chunk that preemption takes back does not return to the allowance: that step is only shorter).
/// In static mode (the baseline) a new batch is admitted only when the previous one has finished, regardless of class.
/// Not thread-safe: the engine's step loop owns it.
/// </summary>
public sealed partial class Scheduler
{
    private readonly EngineOptions _options;
    private readonly BlockManager _blocks;
    private readonly TimeProvider _clock;
    private readonly List<Sequence> _running = [];
    private readonly SortedSet<Sequence> _waitingOnline = new(WaitingOrder.Instance);
    private readonly SortedSet<Sequence> _waitingOffline = new(WaitingOrder.Instance);
    private readonly SchedulerOutput _output = new();
    private readonly List<Sequence> _onlineDecoding = [];
    private StepShape _onlineShape;
    private long _step;
    private int _budget;
    private int _offlineAllowanceLeft;
    private double _offlineSecondsLeft;
    private int _offlineSequencesPlaced;
    private bool _memoryPressure;

    /// <param name="preemption">Host swap blocks and the swap-or-recompute decision; null always recomputes.</param>
    public Scheduler(EngineOptions options, BlockManager blocks, TimeProvider? clock = null, PreemptionPolicy? preemption = null)
    {
        _options = options;
        _blocks = blocks;
        _clock = clock ?? TimeProvider.System;
        Policy = new TrafficPolicy(options, preemption?.Cost);
        Preemption = preemption;
    }

    public TrafficPolicy Policy { get; }

    public IReadOnlyList<Sequence> Running => _running;

    /// <summary>Sequences without a batch slot: waiting to start (or to recompute), and swapped out.</summary>
    public IEnumerable<Sequence> Waiting => _waitingOnline.Concat(_waitingOffline).Concat(Swapped);

    public int WaitingCount => _waitingOnline.Count + _waitingOffline.Count + SwappedCount;

    public int WaitingOf(TrafficClass c) => Queue(c).Count + SwappedQueue(c).Count;

    public int RunningOf(TrafficClass c)
    {
        var n = 0;
        foreach (var s in _running)
        {
            n += s.TrafficClass == c ? 1 : 0;
        }

        return n;
    }

    public bool HasWork => _running.Count > 0 || WaitingCount > 0;

    public long TotalPreemptions { get; private set; }

    public void Add(Sequence sequence)
    {
        Debug.Assert(sequence.Status == SequenceStatus.Waiting && sequence.Blocks.Count == 0, "new sequences wait without blocks");
        sequence.EnqueuedTimestamp = _clock.GetTimestamp();
        Queue(sequence.TrafficClass).Add(sequence);
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
            Queue(sequence.TrafficClass).Remove(sequence);
        }
        else if (sequence.Status == SequenceStatus.Swapped)
        {
            SwappedQueue(sequence.TrafficClass).Remove(sequence);
            Preemption!.HostBlocks.Release(sequence.HostBlocks);
        }

        _blocks.Release(sequence.Blocks);
        sequence.Status = SequenceStatus.Finished;
        if (sequence.AloneStepSeconds is { Count: > 0 } steps)
        {
            Policy.Cap.Tpot.ObserveRequest(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(steps));
            sequence.AloneStepSeconds = null;
        }
    }

    /// <summary>Decides this step's chunks. The returned object is reused by the next call.</summary>
    public SchedulerOutput Schedule()
    {
        _output.Clear();
        _onlineDecoding.Clear();
        _onlineShape = default;
        _budget = _options.MaxBatchTokens;
        _offlineAllowanceLeft = int.MaxValue;
        _offlineSecondsLeft = double.PositiveInfinity;
        _offlineSequencesPlaced = 0;
        _memoryPressure = false;
        _inFlight.Clear();
        _step++;

        if (_options.BatchingMode == BatchingMode.Static)
        {
            if (_running.Count == 0)
            {
                AdmitStaticBatch();
            }

            ScheduleRunning(null, decoding: true);
            ScheduleRunning(null, decoding: false);
            return _output;
        }

        if (Policy.Cap.IsEnabled)
        {
            if (Policy.Cap.Model.IsFitted)
            {
                var online = ExpectedOnlineWork(out var onlineDecoding);
                _offlineSecondsLeft = Policy.Cap.OfflineSeconds(online, onlineDecoding);
            }
            else
            {
                _offlineAllowanceLeft = Policy.Cap.SlowStartTokens;
            }
        }

        // Decode tokens first: one token each keeps every running sequence moving, and a long prefill must not push
        // them out of the step. Prefill chunks of running sequences take what is left, online first.
        ScheduleRunning(null, decoding: true);
        ScheduleRunning(TrafficClass.Online, decoding: false);
        ScheduleRunning(TrafficClass.Offline, decoding: false);

        // Swapped sequences hold host blocks and resume before new work of their class is admitted.
        if (!_memoryPressure)
        {
            if (ResumeSwapped(TrafficClass.Online))
            {
                AdmitWaiting(TrafficClass.Online);
            }

            if (ResumeSwapped(TrafficClass.Offline))
            {
                AdmitWaiting(TrafficClass.Offline);
            }
        }

        return _output;
    }

    /// <summary>
    /// Records how long the step just scheduled took (the TPOT signal of the SLO backoff, and with the step's shape a
    /// point of the step cost model). Call after the step, before the next <see cref="Schedule"/>.
    /// </summary>
    public void ObserveStep(double seconds)
    {
        Policy.ObserveStep(seconds, _output.Shape);
        if (Policy.Cap.ProtectsTpot)
        {
            ObserveOnlineDecode(seconds);
        }
    }

    /// <summary>
    /// What the step just run tells the TPOT budget: the time its online work alone would have taken (measured time ×
    /// predicted online share, so the cost model's bias cancels), one more decode step of each online decoding sequence.
    /// </summary>
    private void ObserveOnlineDecode(double seconds)
    {
        var model = Policy.Cap.Model;
        if (_onlineDecoding.Count == 0 || !model.IsFitted || !Policy.Cap.Tpot.Learns)
        {
            return;
        }

        var predicted = model.PredictSeconds(_output.Shape);
        var alone = predicted > 0 ? seconds * Math.Min(1, model.PredictSeconds(_onlineShape) / predicted) : seconds;
        foreach (var seq in _onlineDecoding)
        {
            (seq.AloneStepSeconds ??= []).Add(alone);
        }
    }

    /// <summary>
    /// Records that the forward pass computed <paramref name="chunk"/>: the sequence's computed tokens advance, and its
    /// blocks that became full are offered to the prefix cache. Call for every chunk after the step, before sampling.
    /// </summary>
    public void Computed(ScheduledChunk chunk)
    {
        Debug.Assert(chunk.Drafts == 0, "a chunk with a draft is finished by ComputedVerified");
        chunk.Sequence.ComputedTokens += chunk.TokenCount;
        _blocks.RegisterComputed(chunk.Sequence);
    }

    /// <summary>
    /// Records that the forward pass computed a chunk verifying a draft of which <paramref name="acceptedDrafts"/> tokens
    /// were kept (and appended, with the target's own token after them): only the positions of the sequence's tokens
    /// count as computed, and the blocks that held nothing but rejected positions go back to the pool. Rejected K/V left
    /// in the last kept block lies past the computed positions, where the next step overwrites it; such a block is not
    /// full-and-computed, so the prefix cache never indexes a block holding a rejected token.
    /// </summary>
    public void ComputedVerified(ScheduledChunk chunk, int acceptedDrafts)
    {
        var seq = chunk.Sequence;
        Debug.Assert(acceptedDrafts >= 0 && acceptedDrafts <= chunk.Drafts, "accepted drafts come from the chunk's draft");
        seq.ComputedTokens += chunk.TokenCount - chunk.Drafts + acceptedDrafts;
        Debug.Assert(seq.PendingTokens == 1, "after verification the target's own token is the one left to compute");
        _blocks.TruncateTo(seq.Blocks, seq.ComputedTokens);
        _blocks.RegisterComputed(seq);
    }

    private void ScheduleRunning(TrafficClass? only, bool decoding)
    {
        for (var i = 0; i < _running.Count && _budget > 0; i++)
        {
            var seq = _running[i];
            if (seq.ScheduledStep == _step || (seq.PendingTokens == 1) != decoding || (only is { } c && seq.TrafficClass != c))
            {
                continue;
            }

            // A decoding sequence with a draft asks for 1 + k rows; the budget or the allowance may trim the draft.
            var wanted = decoding ? 1 + seq.Speculation.Draft.Count : seq.PendingTokens;
            var n = Math.Min(wanted, TokensFor(seq, seq.ComputedTokens, wanted));
            if (n <= 0)
            {
                continue; // offline beyond this step's allowance: it sits the step out
            }

            var needed = _blocks.BlocksFor(seq.ComputedTokens + n) - seq.Blocks.Count;
            if (decoding && n > 1 && !_blocks.CanAppend(needed))
            {
                n = 1; // a draft never preempts anyone: without room for it the sequence decodes one token
                needed = _blocks.BlocksFor(seq.ComputedTokens + 1) - seq.Blocks.Count;
            }

            while (!_blocks.CanAppend(needed) && NextVictim(except: seq) is { } victim)
            {
                _memoryPressure = true;
                if (_running.IndexOf(victim) < i)
                {
                    i--;
                }

                Preempt(victim);
            }

            if (!_blocks.CanAppend(needed))
            {
                _memoryPressure = true;
                Preempt(seq);
                i--;
                continue;
            }

            seq.Speculation.Draft.Truncate(decoding ? n - 1 : 0);
            Place(seq, n, drafts: decoding ? n - 1 : 0);
        }
    }

    private void Place(Sequence seq, int tokens, int drafts = 0)
    {
        _blocks.EnsureCapacity(seq.Blocks, seq.ComputedTokens + tokens);
        _blocks.CheckWritable(seq.Blocks, seq.ComputedTokens, tokens);
        NoteBlocksInFlight(seq, tokens - drafts); // a draft's positions may be rolled back: they complete no block for sure
        seq.ScheduledStep = _step;
        // Verifying a draft is decode work: 1 + k rows of one sequence, each reading its context, as k + 1 decode rows would.
        var shape = StepShape.Chunk(seq.ComputedTokens, tokens, decode: drafts > 0 || (tokens == 1 && seq.ComputedTokens > 0));
        _output.Chunks.Add(new ScheduledChunk(seq, tokens) { Drafts = drafts });
        _output.TokenCount += tokens;
        _output.Shape += shape;
        _budget -= tokens;
        if (seq.TrafficClass == TrafficClass.Online)
        {
            _onlineShape += shape;
            if (shape.DecodeTokens > 0)
            {
                _onlineDecoding.Add(seq);
            }
        }
        else
        {
            _offlineAllowanceLeft -= tokens;
            _offlineSecondsLeft -= Policy.Cap.Model.MarginalSeconds(shape);
            _offlineSequencesPlaced++;
        }
    }

    /// <summary>
    /// Tokens <paramref name="seq"/> may take now for a chunk at <paramref name="start"/> of <paramref name="pending"/>
    /// tokens: the step's budget, and for offline the offline allowance (a prefill chunk shrinks to fit it).
    /// </summary>
    private int TokensFor(Sequence seq, int start, int pending)
    {
        if (seq.TrafficClass != TrafficClass.Offline)
        {
            return _budget;
        }

        // The reserved sequences still to come get a token whatever is left: hold that back now, so the step's offline
        // work stays within the allowance, or within the reserve's own minimum where that is more.
        var owed = Math.Max(0, Policy.ReservedOfflineSlots - _offlineSequencesPlaced - 1);
        var seconds = _offlineSecondsLeft - (owed * Policy.Cap.Model.SecondsPerToken);
        var allowed = Math.Min(_offlineAllowanceLeft, Policy.Cap.TokensWithin(seconds, start, Math.Min(pending, _budget)));
        return Math.Min(_budget, Policy.OfflineTokensFor(allowed, _offlineSequencesPlaced));
    }

    /// <summary>
    /// The online work this step is expected to carry: every running online sequence's next chunk, and the prompts of
    /// the waiting online requests that free slots could take, within the step's token budget.
    /// <paramref name="decoding"/>: some running online sequence decodes, so this step is one of its output tokens.
    /// </summary>
    private StepShape ExpectedOnlineWork(out bool decoding)
    {
        var work = default(StepShape);
        decoding = false;
        foreach (var seq in _running)
        {
            if (seq.TrafficClass != TrafficClass.Online || work.Tokens >= _options.MaxBatchTokens)
            {
                continue;
            }

            var n = Math.Min(seq.PendingTokens, _options.MaxBatchTokens - work.Tokens);
            var decode = n == 1 && seq.ComputedTokens > 0;
            decoding |= decode;
            work += StepShape.Chunk(seq.ComputedTokens, n, decode);
        }

        var freeSlots = _options.MaxRunningSequences - _running.Count;
        foreach (var seq in _waitingOnline)
        {
            if (freeSlots-- <= 0 || work.Tokens >= _options.MaxBatchTokens)
            {
                break;
            }

            work += StepShape.Chunk(0, Math.Min(seq.PendingTokens, _options.MaxBatchTokens - work.Tokens), decode: false);
        }

        return work;
    }

    /// <summary>
    /// The running sequence to give up its blocks so that <paramref name="except"/> can grow: offline before online,
    /// newest first, and never one that outranks it (an offline sequence never pushes out an online one, a newer
    /// sequence never pushes out an older one of its class). Null when <paramref name="except"/> must yield itself.
    /// </summary>
    private Sequence? NextVictim(Sequence except)
    {
        Sequence? best = null;
        for (var j = _running.Count - 1; j >= 0; j--)
        {
            var candidate = _running[j];
            var rank = TrafficPolicy.VictimRank(candidate);
            var exceptRank = TrafficPolicy.VictimRank(except);
            var yields = rank < exceptRank || (rank == exceptRank && candidate.ArrivalOrder > except.ArrivalOrder);
            if (candidate != except && yields && (best is null || rank < TrafficPolicy.VictimRank(best)
                || (rank == TrafficPolicy.VictimRank(best) && candidate.ArrivalOrder > best.ArrivalOrder)))
            {
                best = candidate;
            }
        }

        return best;
    }

    private Sequence? NewestRunning(TrafficClass c)
    {
        for (var j = _running.Count - 1; j >= 0; j--)
        {
            if (_running[j].TrafficClass == c)
            {
                return _running[j];
            }
        }

        return null;
    }

    private SortedSet<Sequence> Queue(TrafficClass c) => c == TrafficClass.Online ? _waitingOnline : _waitingOffline;

    /// <summary>
    /// Every KV block and every host swap block is free or held by a live sequence (free + used == total in both pools);
    /// waiting sequences hold nothing, swapped ones exactly the swap blocks of their computed tokens.
    /// </summary>
    public void CheckIntegrity()
    {
        _blocks.CheckIntegrity(_running.Select(s => s.Blocks).Concat(Waiting.Select(s => s.Blocks)));
        Preemption?.HostBlocks.CheckIntegrity(_running.Concat(Waiting).Select(s => s.HostBlocks));
        foreach (var seq in Waiting)
        {
            if (seq.Blocks.Count != 0 || (seq.Status == SequenceStatus.Waiting && (seq.ComputedTokens != 0 || seq.HostBlocks.Count != 0)))
            {
                throw new InvalidOperationException($"waiting sequence {seq} holds KV state");
            }

            if (seq.Status == SequenceStatus.Swapped && (seq.ComputedTokens == 0 || seq.HostBlocks.Count != _blocks.BlocksFor(seq.ComputedTokens)))
            {
                throw new InvalidOperationException($"swapped sequence {seq} holds {seq.HostBlocks.Count} swap blocks");
            }
        }

        foreach (var seq in _running)
        {
            if (seq.HostBlocks.Count != 0)
            {
                throw new InvalidOperationException($"running sequence {seq} still holds swap blocks");
            }

            // A running sequence holds no block past its tokens and its current draft: blocks that held only rejected
            // draft positions must have gone back to the pool (between steps no draft is pending).
            if (seq.Blocks.Count > _blocks.BlocksFor(seq.Length + seq.Speculation.Draft.Count))
            {
                throw new InvalidOperationException($"running sequence {seq} holds blocks past its tokens and draft");
            }
        }

        if (_running.Count > _options.MaxRunningSequences)
        {
            throw new InvalidOperationException($"{_running.Count} sequences run in {_options.MaxRunningSequences} slots");
        }
    }

    /// <summary>Lower priority value first, then the lower fair-share rank (requests take turns), then first come first served.</summary>
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
            if (c == 0)
            {
                c = x.Request.FairShareRank.CompareTo(y.Request.FairShareRank);
            }

            return c != 0 ? c : x.ArrivalOrder.CompareTo(y.ArrivalOrder);
        }
    }
}
