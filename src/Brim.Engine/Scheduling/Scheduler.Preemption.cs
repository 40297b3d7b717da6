using System.Diagnostics;
using Brim.Core;

namespace Brim.Engine.Scheduling;

/// <summary>
/// Preemption and resume: how a running sequence gives up its KV blocks — copied to host swap blocks, or dropped to be
/// recomputed, as <see cref="PreemptionPolicy"/> decides per victim — and how swapped sequences come back. A swapped
/// sequence keeps its computed tokens; resuming it needs device blocks like an admission does, and copies its K/V back
/// before the step's forward pass.
/// </summary>
public sealed partial class Scheduler
{
    private readonly SortedSet<Sequence> _swappedOnline = new(WaitingOrder.Instance);
    private readonly SortedSet<Sequence> _swappedOffline = new(WaitingOrder.Instance);

    /// <summary>Host swap blocks and the swap-or-recompute decision; null when the engine has no swap space.</summary>
    public PreemptionPolicy? Preemption { get; }

    /// <summary>Preempted sequences whose K/V waits in host swap blocks.</summary>
    public IEnumerable<Sequence> Swapped => _swappedOnline.Concat(_swappedOffline);

    public int SwappedCount => _swappedOnline.Count + _swappedOffline.Count;

    /// <summary>Preemptions that swapped the victim's K/V to host memory (the rest recomputed).</summary>
    public long SwapPreemptions { get; private set; }

    public long RecomputePreemptions => TotalPreemptions - SwapPreemptions;

    /// <summary>KV blocks the scheduler has had copied to host swap blocks since it started (every one, even in a step that ran no model).</summary>
    public long SwappedOutBlocks { get; private set; }

    /// <summary>KV blocks copied back from host swap blocks since the start; never more than <see cref="SwappedOutBlocks"/>.</summary>
    public long SwappedInBlocks { get; private set; }

    private void Preempt(Sequence victim)
    {
        victim.Speculation.Draft.Clear(); // its draft (if any) was for a step it no longer runs in
        // A victim already placed in this step gives its chunk back.
        if (victim.ScheduledStep == _step)
        {
            var index = _output.Chunks.FindIndex(c => c.Sequence == victim);
            var chunk = _output.Chunks[index];
            _output.Chunks.RemoveAt(index);
            _output.TokenCount -= chunk.TokenCount;
            _budget += chunk.TokenCount;
            victim.ScheduledStep = -1;
            _onlineDecoding.Remove(victim); // it decodes no token of its request in this step
        }

        _running.Remove(victim);
        victim.Preemptions++;
        TotalPreemptions++;

        // Its batch window starts again: an online victim waits for blocks like a new arrival before displacing offline
        // work, instead of counting as past the window at once because it arrived (and ran) long ago.
        victim.EnqueuedTimestamp = _clock.GetTimestamp();
        _output.Preempted.Add(victim);
        if (ModeFor(victim) == PreemptionMode.Swap)
        {
            SwapOut(victim);
        }
        else
        {
            _blocks.Release(victim.Blocks);
            victim.ComputedTokens = 0;
            victim.Status = SequenceStatus.Waiting;
            Queue(victim.TrafficClass).Add(victim);
        }
    }

    /// <summary>Static batching (the baseline) always recomputes: its batches are admitted whole, never resumed.</summary>
    private PreemptionMode ModeFor(Sequence victim) =>
        Preemption is null || _options.BatchingMode == BatchingMode.Static
            ? PreemptionMode.Recompute
            : Preemption.Choose(victim.ComputedTokens, _blocks.BlocksFor(victim.ComputedTokens));

    /// <summary>Copies the blocks of the victim's computed tokens to host swap blocks; blocks beyond them are just freed.</summary>
    private void SwapOut(Sequence victim)
    {
        Debug.Assert(victim.Blocks.Count >= _blocks.BlocksFor(victim.ComputedTokens), "a running sequence's blocks cover its computed tokens");
        Preemption!.HostBlocks.EnsureCapacity(victim.HostBlocks, victim.ComputedTokens);
        for (var i = 0; i < victim.HostBlocks.Count; i++)
        {
            _output.Swaps.Add(new BlockSwap(ToHost: true, victim.Blocks[i], victim.HostBlocks[i]));
        }

        _blocks.Release(victim.Blocks);
        victim.Status = SequenceStatus.Swapped;
        SwapPreemptions++;
        SwappedOutBlocks += victim.HostBlocks.Count;
        SwappedQueue(victim.TrafficClass).Add(victim);
    }

    /// <summary>
    /// Brings swapped sequences of class <paramref name="c"/> back, in priority then arrival order, under admission's
    /// rules (<see cref="SlotLimit"/>, <see cref="CanStart"/>, <see cref="MakeRoomForOnline"/>, the window counted from the
    /// swap-out). A sequence swapped out in this very step waits for the next. Returns true when none of the class is
    /// left swapped: only then may new requests of the class be admitted, so that they never take the blocks a swapped
    /// one waits for.
    /// </summary>
    private bool ResumeSwapped(TrafficClass c)
    {
        var queue = SwappedQueue(c);
        while (queue.Count > 0 && _budget > 0)
        {
            var seq = queue.Min!;
            if (_blocks.BlocksFor(seq.Length) > _blocks.TotalBlocks)
            {
                Reject(seq, queue);
                continue;
            }

            if (_output.Preempted.Contains(seq))
            {
                break;
            }

            var n = Math.Min(seq.PendingTokens, TokensFor(seq, seq.ComputedTokens, seq.PendingTokens));
            if (n <= 0)
            {
                break;
            }

            // Leading blocks still cached need no copy back: the swap-in takes them by reference.
            var unreferenced = _blocks.MatchPrefix(seq, seq.ComputedTokens / _blocks.BlockSize, _prefixHits);
            var blocks = _blocks.BlocksFor(seq.ComputedTokens + n) - _prefixHits.Count + unreferenced;
            if (_running.Count < SlotLimit(c) && CanStart(blocks))
            {
                SwapIn(seq, queue);
                Place(seq, n);
                continue;
            }

            if (c == TrafficClass.Online && MakeRoomForOnline(seq))
            {
                continue;
            }

            break;
        }

        return queue.Count == 0;
    }

    /// <summary>Gives a swapped sequence device blocks again: its still-cached leading blocks by reference (just matched), copies for the rest.</summary>
    private void SwapIn(Sequence seq, SortedSet<Sequence> queue)
    {
        queue.Remove(seq);
        _blocks.AcquirePrefix(seq.Blocks, _prefixHits, seq.TrafficClass);
        _blocks.EnsureCapacity(seq.Blocks, seq.ComputedTokens);
        for (var i = _prefixHits.Count; i < seq.HostBlocks.Count; i++)
        {
            _output.Swaps.Add(new BlockSwap(ToHost: false, seq.Blocks[i], seq.HostBlocks[i]));
        }

        SwappedInBlocks += seq.HostBlocks.Count - _prefixHits.Count;

        // The host blocks are free for later decisions of this step: the engine runs the copies in decision order.
        Preemption!.HostBlocks.Release(seq.HostBlocks);
        seq.Status = SequenceStatus.Running;
        _running.Add(seq);
    }

    /// <summary>A swapped sequence that outgrew the whole cache can never resume: it fails like an oversized prompt.</summary>
    private void Reject(Sequence seq, SortedSet<Sequence> queue)
    {
        queue.Remove(seq);
        Preemption!.HostBlocks.Release(seq.HostBlocks);
        seq.ComputedTokens = 0;
        seq.Status = SequenceStatus.Waiting;
        _output.Rejected.Add(seq);
    }

    private SortedSet<Sequence> SwappedQueue(TrafficClass c) => c == TrafficClass.Online ? _swappedOnline : _swappedOffline;
}
