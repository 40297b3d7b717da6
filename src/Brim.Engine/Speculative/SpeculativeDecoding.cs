using System.Diagnostics;
using Brim.Core.Execution;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Speculative;

/// <summary>
/// The second way a step runs: before scheduling, <see cref="ProposeDrafts"/> lets the <see cref="SpeculationPolicy"/>
/// pick each decoding sequence's draft length and the <see cref="IProposer"/> fill the drafts; the scheduler gives such a
/// sequence one chunk of 1 + k tokens (its last sampled token and the draft) whose every position returns logits, inside
/// the normal ragged step; after the forward pass <see cref="Accept"/> verifies the draft (<see cref="DraftVerifier"/>),
/// and the scheduler rolls the sequence's KV back to what was accepted (<see cref="Scheduler.ComputedVerified"/>).
/// </summary>
/// <remarks>Step loop only.</remarks>
internal sealed class SpeculativeDecoding
{
    private readonly IProposer _proposer;
    private readonly SpeculationPolicy _policy;
    private readonly Scheduler _scheduler;
    private readonly DraftVerifier _verifier;
    private readonly int _maxBatchTokens;
    private readonly int _maxModelLength;
    private readonly List<Sequence> _candidates = [];
    private readonly List<DraftRequest> _requests = [];
    private int[] _limits = [];
    private int[] _lengths = [];
    private SpeculationStep _step;

    public SpeculativeDecoding(
        SpeculativeConfig config, IProposer proposer, Scheduler scheduler, Sampling.Sampler sampler, int maxBatchTokens, int maxModelLength)
    {
        _proposer = proposer;
        _policy = new SpeculationPolicy(config, scheduler.Policy.Cap.Model);
        _scheduler = scheduler;
        _verifier = new DraftVerifier(sampler);
        _maxBatchTokens = maxBatchTokens;
        _maxModelLength = maxModelLength;
        Metrics = new SpeculationMetrics(config.NumSpeculativeTokens);
    }

    public SpeculationMetrics Metrics { get; }

    public string Method => _proposer.Method;

    /// <summary>What the current step did: reset by <see cref="ProposeDrafts"/>, added to by <see cref="Accept"/>.</summary>
    public SpeculationStep Step => _step;

    /// <summary>
    /// Chooses this step's drafts for the running sequences that decode (and allow speculation); every other sequence's
    /// draft is cleared. Drafts together never take more of the step's token budget than the decode rows leave.
    /// </summary>
    public void ProposeDrafts()
    {
        var started = Stopwatch.GetTimestamp();
        _step = default;
        _candidates.Clear();
        _requests.Clear();
        int decodeRows = 0;
        long contextPositions = 0;
        foreach (var seq in _scheduler.Running)
        {
            seq.Speculation.Draft.Clear();
            if (seq.PendingTokens != 1)
            {
                continue; // still prefilling: there is no sampled token yet to speculate after
            }

            decodeRows++;
            contextPositions += seq.Length;
            if (seq.Request.AllowSpeculation && DraftLimit(seq) > 0)
            {
                _candidates.Add(seq);
            }
        }

        if (_candidates.Count == 0)
        {
            _proposer.Propose(_requests); // none: a draft model still frees what finished sequences held
            return;
        }

        if (_limits.Length < _candidates.Count)
        {
            _limits = new int[_candidates.Count * 2];
            _lengths = new int[_candidates.Count * 2];
        }

        for (var i = 0; i < _candidates.Count; i++)
        {
            _limits[i] = DraftLimit(_candidates[i]);
        }

        var lengths = _lengths.AsSpan(0, _candidates.Count);
        if (!_policy.Choose(_candidates, _limits.AsSpan(0, _candidates.Count), decodeRows, contextPositions, lengths))
        {
            Metrics.RecordStepOff();
            _step = _step with { PolicyOff = true };
            foreach (var seq in _candidates)
            {
                seq.Speculation.Rest();
            }

            _proposer.Propose(_requests);
            return;
        }

        var spare = _maxBatchTokens - decodeRows;
        for (var i = 0; i < _candidates.Count; i++)
        {
            var k = Math.Min(lengths[i], spare);
            if (k > 0)
            {
                _requests.Add(new DraftRequest(_candidates[i], k));
                spare -= k;
            }
            else
            {
                _candidates[i].Speculation.Rest();
            }
        }

        _proposer.Propose(_requests);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var proposed = 0;
        foreach (var request in _requests)
        {
            proposed += request.Sequence.Speculation.Draft.Count;
        }

        _policy.ObserveDraftCost(elapsed.TotalSeconds, proposed);
        Metrics.RecordDraftTime(elapsed);
        _step = _step with { DraftSeconds = elapsed.TotalSeconds };
    }

    /// <summary>
    /// The longest draft <paramref name="seq"/> may verify: all its tokens and the target's own one must fit its
    /// max_tokens and the model's length, so an accepted run never overshoots either (it stops there instead).
    /// </summary>
    private int DraftLimit(Sequence seq) => Math.Min(seq.Sampling.MaxTokens - seq.OutputLength, _maxModelLength - seq.Length) - 1;

    /// <summary>
    /// Verifies <paramref name="chunk"/>'s draft against its logit rows from <paramref name="firstRow"/>, hands the tokens
    /// to <paramref name="sink"/>, and rolls the sequence's KV back to the accepted tokens. Returns the rows it read.
    /// </summary>
    public int Accept(ScheduledChunk chunk, ForwardOutput output, int firstRow, TokenSink sink)
    {
        var seq = chunk.Sequence;
        Debug.Assert(chunk.Drafts > 0 && chunk.Drafts == seq.Speculation.Draft.Count, "the scheduler placed the whole (trimmed) draft");
        var accepted = _verifier.Verify(seq, chunk.Drafts, output, firstRow, sink);
        Metrics.RecordVerification(chunk.Drafts, accepted);
        _step = _step with { Drafts = _step.Drafts + 1, DraftTokens = _step.DraftTokens + chunk.Drafts, AcceptedTokens = _step.AcceptedTokens + accepted };
        seq.Speculation.Observe(chunk.Drafts, accepted);
        seq.Speculation.Draft.Clear();
        if (seq.Status == SequenceStatus.Running)
        {
            _scheduler.ComputedVerified(chunk, accepted);
            _proposer.Truncate(seq, seq.ComputedTokens);
        }
        else
        {
            _proposer.Truncate(seq, 0); // finished inside the accepted run: its blocks are already free
        }

        return 1 + chunk.Drafts;
    }
}
