using Brim.Core;
using Brim.Engine.PrefixCache;

namespace Brim.Engine.Scheduling;

/// <summary>
/// Admission: which waiting (and, in Scheduler.Preemption.cs, swapped) sequences start this step. Each rule is written
/// once and shared by both classes and by resuming: <see cref="SlotLimit"/> (offline's untaken reserve, the online
/// headroom), <see cref="CanStart"/> (the watermark, waived when nothing runs), <see cref="MakeRoomForOnline"/> (online
/// past its batch window displaces offline above the reserve). A starting sequence first takes its longest cached
/// prefix from the KV cache by reference and is charged only for the blocks and tokens it still has to compute.
/// </summary>
public sealed partial class Scheduler
{
    private readonly List<int> _prefixHits = [];
    private readonly List<Sequence> _deferred = [];
    private readonly HashSet<BlockHash> _inFlight = [];

    /// <summary>
    /// Starts waiting sequences of class <paramref name="c"/> in priority then arrival order while a slot, tokens and
    /// blocks last. Offline holds back beyond its reserve while online latency nears its SLO. A sequence whose next
    /// uncached block another sequence computes in this very step waits one step and then finds it cached (requests with
    /// n &gt; 1, or a burst sharing a system prompt, compute it once).
    /// </summary>
    private void AdmitWaiting(TrafficClass c)
    {
        var queue = Queue(c);
        var backOff = c == TrafficClass.Offline && OfflineBacksOff();
        _deferred.Clear();
        while (queue.Count > 0 && _budget > 0)
        {
            if (backOff && RunningOf(TrafficClass.Offline) >= Policy.ReservedOfflineSlots)
            {
                break;
            }

            var seq = queue.Min!;
            if (RejectIfNeverFits(seq, queue))
            {
                continue;
            }

            var slotFree = _running.Count < SlotLimit(c);
            if (!slotFree && c == TrafficClass.Offline)
            {
                break; // offline never displaces anyone: no slot, no need to look up its prefix
            }

            var unreferenced = _blocks.MatchPrefix(seq, _blocks.MaxPrefixBlocks(seq), _prefixHits);
            if (NextBlockInFlight(seq))
            {
                queue.Remove(seq);
                _deferred.Add(seq);
                continue;
            }

            var cached = _prefixHits.Count * _blocks.BlockSize;
            var n = Math.Min(seq.Length - cached, TokensFor(seq, cached, seq.Length - cached));
            if (n <= 0)
            {
                break; // offline beyond this step's allowance
            }

            var blocks = _blocks.BlocksFor(cached + n) - _prefixHits.Count + unreferenced;
            if (slotFree && CanStart(blocks))
            {
                Start(seq, queue, cached, n);
                continue;
            }

            if (c == TrafficClass.Online && MakeRoomForOnline(seq))
            {
                continue;
            }

            break;
        }

        foreach (var seq in _deferred)
        {
            queue.Add(seq);
        }
    }

    /// <summary>
    /// The most sequences that may run once one more of class <paramref name="c"/> starts: online leaves the slots of
    /// offline's reserve that offline has not taken yet; offline leaves the online headroom, unless it is below its reserve.
    /// </summary>
    private int SlotLimit(TrafficClass c)
    {
        var offlineRunning = RunningOf(TrafficClass.Offline);
        if (c == TrafficClass.Online)
        {
            var held = Math.Max(0, Policy.SlotsHeldForOffline(offlineRunning, WaitingOf(TrafficClass.Offline)) - offlineRunning);
            return _options.MaxRunningSequences - held;
        }

        return offlineRunning < Policy.ReservedOfflineSlots
            ? _options.MaxRunningSequences
            : _options.MaxRunningSequences - _options.OnlineHeadroomSlots;
    }

    /// <summary>
    /// Whether a starting sequence may take <paramref name="blocks"/> more blocks: above the watermark, unless nothing runs
    /// (then nothing else could ever free blocks, and a prompt that fits the cache must still run).
    /// </summary>
    private bool CanStart(int blocks) => _running.Count == 0 ? _blocks.CanAppend(blocks) : _blocks.CanAdmit(blocks);

    /// <summary>
    /// Online must not wait behind offline beyond the batch window: once <paramref name="seq"/> has waited that long
    /// (since it last entered a queue), the newest offline sequence above the reserve gives up its slot and blocks.
    /// </summary>
    private bool MakeRoomForOnline(Sequence seq)
    {
        if (Policy.OnlineWaitedPastWindow(seq.EnqueuedTimestamp, _clock.GetTimestamp(), _clock)
            && RunningOf(TrafficClass.Offline) > Policy.ReservedOfflineSlots
            && NewestRunning(TrafficClass.Offline) is { } offline)
        {
            Preempt(offline);
            return true;
        }

        return false;
    }

    private bool OfflineBacksOff()
    {
        var oldestOnlineWait = _waitingOnline.Count == 0
            ? TimeSpan.Zero
            : _waitingOnline.Min(s => _clock.GetElapsedTime(s.EnqueuedTimestamp));
        return Policy.OfflineShouldBackOff(RunningOf(TrafficClass.Online), oldestOnlineWait);
    }

    /// <summary>Runs a waiting sequence: its cached prefix (the blocks just matched) by reference, then a first chunk of <paramref name="tokens"/>.</summary>
    private void Start(Sequence seq, SortedSet<Sequence> queue, int cachedTokens, int tokens)
    {
        queue.Remove(seq);
        _blocks.AcquirePrefix(seq.Blocks, _prefixHits, seq.TrafficClass);
        _blocks.CountLookup(seq.Length, cachedTokens);
        seq.ComputedTokens = cachedTokens;
        seq.CachedPromptTokens ??= Math.Min(cachedTokens, seq.PromptLength);
        seq.Status = SequenceStatus.Running;
        _running.Add(seq);
        Place(seq, tokens);
    }

    private bool RejectIfNeverFits(Sequence seq, SortedSet<Sequence> queue)
    {
        if (_blocks.BlocksFor(seq.Length) <= _blocks.TotalBlocks)
        {
            return false;
        }

        queue.Remove(seq);
        _output.Rejected.Add(seq);
        return true;
    }

    private void AdmitStaticBatch()
    {
        foreach (var queue in new[] { _waitingOnline, _waitingOffline })
        {
            while (queue.Count > 0 && _running.Count < _options.MaxRunningSequences)
            {
                var seq = queue.Min!;
                if (RejectIfNeverFits(seq, queue))
                {
                    continue;
                }

                queue.Remove(seq);
                seq.Status = SequenceStatus.Running;
                _running.Add(seq);
            }
        }
    }

    /// <summary>Remembers the content of the blocks a chunk placed this step completes, so admissions can wait for them (<see cref="NextBlockInFlight"/>).</summary>
    private void NoteBlocksInFlight(Sequence seq, int tokens)
    {
        if (!_blocks.PrefixCachingEnabled)
        {
            return;
        }

        var first = Math.Max(seq.Blocks.CacheCheckedCount, seq.ComputedTokens / _blocks.BlockSize);
        var end = (seq.ComputedTokens + tokens) / _blocks.BlockSize;
        for (var i = first; i < end; i++)
        {
            _inFlight.Add(_blocks.HashOf(seq, i));
        }
    }

    /// <summary>Whether the first block <paramref name="seq"/> missed in the cache (the last match) is being computed in this step.</summary>
    private bool NextBlockInFlight(Sequence seq) =>
        _inFlight.Count > 0
        && _prefixHits.Count < _blocks.MaxPrefixBlocks(seq)
        && _inFlight.Contains(_blocks.HashOf(seq, _prefixHits.Count));
}
