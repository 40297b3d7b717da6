using System.Diagnostics.CodeAnalysis;
using Brim.Core;

namespace Brim.Telemetry.Recording;

/// <summary>
/// Everything recorded during one wall-clock second: sums, so that any window is the sum of its buckets and rates
/// are exact ratios of sums (never means of means). A mutable struct updated in place in the hub's ring.
/// </summary>
internal struct SecondBucket
{
    /// <summary>Seconds since the hub started; identifies which second the ring slot currently holds.</summary>
    public long Second;
    public int Steps;
    public double BusySeconds;
    public double ForwardSeconds;
    public double HostInStepSeconds;
    public double HostGapSeconds;
    public long PrefillTokens;
    public long DecodeTokens;
    public long OutputTokens;
    public long SequenceSum;
    public double Flops;
    public double Bytes;
    public double FixedWeightBytes;

    /// <summary>Σ occupancy × step seconds: divided by busy seconds, the time-weighted batch occupancy.</summary>
    public double OccupancySeconds;
    public int Preempted;

    /// <summary>KV blocks copied to host swap space and back by the steps of this second.</summary>
    public long SwappedOutBlocks;
    public long SwappedInBlocks;

    /// <summary>Prompt tokens looked up in the prefix cache by the sequences started in this second, and those found.</summary>
    public long PrefixQueriedTokens;
    public long PrefixHitTokens;

    /// <summary>Speculative decoding in this second's steps: drafts verified, their tokens proposed and accepted, steps the policy turned it off, seconds proposing.</summary>
    public long Drafts;
    public long DraftTokens;
    public long AcceptedDraftTokens;
    public long SpeculationOffSteps;
    public double DraftSeconds;

    /// <summary>Queue gauges as the last step in this second left them (-1: no step yet).</summary>
    public int Running;
    public int Waiting;

    /// <summary>Of <see cref="Running"/> and <see cref="Waiting"/>, the offline class's share (the rest is online).</summary>
    public int RunningOffline;
    public int WaitingOffline;
    public int MaxRunning;
    public double GpuUtilizationSum;
    public int GpuSamples;
    public ClassTotals Online;
    public ClassTotals Offline;

    public static SecondBucket Empty(long second) => new() { Second = second, Running = -1, Waiting = -1 };

    [UnscopedRef]
    public ref ClassTotals For(TrafficClass trafficClass) =>
        ref trafficClass == TrafficClass.Offline ? ref Offline : ref Online;

    public void Accumulate(in SecondBucket other)
    {
        Steps += other.Steps;
        BusySeconds += other.BusySeconds;
        ForwardSeconds += other.ForwardSeconds;
        HostInStepSeconds += other.HostInStepSeconds;
        HostGapSeconds += other.HostGapSeconds;
        PrefillTokens += other.PrefillTokens;
        DecodeTokens += other.DecodeTokens;
        OutputTokens += other.OutputTokens;
        SequenceSum += other.SequenceSum;
        Flops += other.Flops;
        Bytes += other.Bytes;
        FixedWeightBytes += other.FixedWeightBytes;
        OccupancySeconds += other.OccupancySeconds;
        Preempted += other.Preempted;
        SwappedOutBlocks += other.SwappedOutBlocks;
        SwappedInBlocks += other.SwappedInBlocks;
        PrefixQueriedTokens += other.PrefixQueriedTokens;
        PrefixHitTokens += other.PrefixHitTokens;
        Drafts += other.Drafts;
        DraftTokens += other.DraftTokens;
        AcceptedDraftTokens += other.AcceptedDraftTokens;
        SpeculationOffSteps += other.SpeculationOffSteps;
        DraftSeconds += other.DraftSeconds;
        MaxRunning = Math.Max(MaxRunning, other.MaxRunning);
        GpuUtilizationSum += other.GpuUtilizationSum;
        GpuSamples += other.GpuSamples;
        Online.Accumulate(other.Online);
        Offline.Accumulate(other.Offline);
    }
}

/// <summary>Completed requests of one traffic class within a bucket.</summary>
internal struct ClassTotals
{
    public int Requests;
    public long OutputTokens;
    public double TtftSeconds;
    public double TpotSeconds;
    public double E2eSeconds;

    public void Accumulate(in ClassTotals other)
    {
        Requests += other.Requests;
        OutputTokens += other.OutputTokens;
        TtftSeconds += other.TtftSeconds;
        TpotSeconds += other.TpotSeconds;
        E2eSeconds += other.E2eSeconds;
    }
}
