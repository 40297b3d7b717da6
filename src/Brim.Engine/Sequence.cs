using System.Runtime.InteropServices;
using Brim.Core;
using Brim.Engine.KvCache;
using Brim.Engine.Output;
using Brim.Engine.PrefixCache;
using Brim.Engine.Sampling;
using Brim.Engine.Speculative;

namespace Brim.Engine;

public enum SequenceStatus
{
    Waiting,
    Running,

    /// <summary>Preempted with its K/V parked in host swap blocks; resumes by copying them back (no recompute).</summary>
    Swapped,
    Finished,
}

/// <summary>
/// The engine's state for one request: its tokens (prompt then output), how many of them already have K/V in the
/// cache, its blocks, and its sampling and text state. Only the step loop touches it.
/// </summary>
public sealed class Sequence
{
    private readonly List<int> _tokens;

    internal Sequence(GenerationRequest request, long arrivalOrder, TextOutput? text)
    {
        Request = request;
        ArrivalOrder = arrivalOrder;
        _tokens = [.. request.PromptTokens];
        PromptLength = _tokens.Count;
        Random = SequenceRandom.FromSeed(request.Sampling.Seed);
        Penalties = PenaltyState.For(request.Sampling, request.PromptTokens);
        Text = text;
    }

    public GenerationRequest Request { get; }

    public RequestId Id => Request.Id;

    public TrafficClass TrafficClass => Request.TrafficClass;

    public SamplingParams Sampling => Request.Sampling;

    /// <summary>Submission order, the tie-breaker of every queue (first come, first served).</summary>
    public long ArrivalOrder { get; }

    public SequenceStatus Status { get; internal set; } = SequenceStatus.Waiting;

    public int PromptLength { get; }

    /// <summary>Prompt and output tokens so far.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    public int Length => _tokens.Count;

    public int OutputLength => _tokens.Count - PromptLength;

    /// <summary>
    /// Leading tokens whose K/V is in the cache (or, while <see cref="SequenceStatus.Swapped"/>, in its swap blocks).
    /// Reset to 0 when the sequence is preempted by recompute.
    /// </summary>
    public int ComputedTokens { get; internal set; }

    /// <summary>Tokens still to run through the model before the next token can be sampled (1 while decoding).</summary>
    public int PendingTokens => _tokens.Count - ComputedTokens;

    public BlockTable Blocks { get; } = new();

    /// <summary>Host swap blocks holding the K/V of the first <see cref="ComputedTokens"/> positions while swapped; empty otherwise.</summary>
    public BlockTable HostBlocks { get; } = new();

    public int Preemptions { get; internal set; }

    /// <summary>Set once the first output token exists (time to first token).</summary>
    public long? FirstTokenTimestamp { get; internal set; }

    /// <summary>
    /// Prompt tokens found in the prefix cache when the sequence first started (OpenAI's
    /// <c>usage.prompt_tokens_details.cached_tokens</c>); null until it starts.
    /// </summary>
    public int? CachedPromptTokens { get; internal set; }

    /// <summary>Content hashes of the sequence's full blocks, computed as the prefix cache first asks (tokens never change once written).</summary>
    internal List<BlockHash> BlockHashes { get; } = [];

    /// <summary>This step's draft tokens and the acceptance its drafts have had (speculative decoding).</summary>
    public SequenceSpeculation Speculation { get; } = new();

    internal SequenceRandom Random { get; }

    internal PenaltyState Penalties { get; }

    internal TextOutput? Text { get; }

    /// <summary>
    /// When the sequence last entered a waiting or swapped queue (arrival, or its latest preemption), on the scheduler's
    /// clock: the start of the batch window an online sequence waits out before offline work must make room for it.
    /// </summary>
    internal long EnqueuedTimestamp { get; set; }

    /// <summary>Online only, while the TPOT budget is learned: each decode step's estimated online-alone time (TpotBudget learns from them).</summary>
    internal List<double>? AloneStepSeconds { get; set; }

    /// <summary>The scheduler step that last gave this sequence a chunk (so one step never schedules it twice).</summary>
    internal long ScheduledStep { get; set; } = -1;

    internal ReadOnlySpan<int> TokenSpan(int start, int count) => CollectionsMarshal.AsSpan(_tokens).Slice(start, count);

    internal void Append(int token)
    {
        _tokens.Add(token);
        Penalties.Record(token);
    }

    public override string ToString() => $"{Id} {Status} {ComputedTokens}/{Length} tokens, {Blocks.Count} blocks";
}
