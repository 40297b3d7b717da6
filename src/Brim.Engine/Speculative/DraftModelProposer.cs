using System.Diagnostics;
using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.KvCache;
using Brim.Engine.Sampling;

namespace Brim.Engine.Speculative;

/// <summary>
/// Proposes with a smaller model of the same tokenizer (vLLM's "draft_model"), run in the same process through its own
/// backend and its own paged KV cache, which this proposer manages with its own <see cref="BlockManager"/>. Each step it
/// first brings every requesting sequence's draft KV up to the sequence's tokens in one ragged batch (a newly started,
/// resumed or recomputed sequence prefills; otherwise only the tokens accepted since), whose last rows give the first
/// draft token, then runs k − 1 batched one-token steps for the rest. Greedy requests get the draft's argmax (point
/// masses); sampled ones get a token drawn from the draft's distribution with the request's temperature and truncation,
/// which is attached for the rejection rule.
/// </summary>
/// <remarks>
/// Kept in step with the target by content, not by events: the draft remembers the tokens its KV holds, and before each
/// proposal keeps only the leading positions that still agree with the sequence (rejected draft tokens, a token the
/// target chose instead, anything a preemption threw away are recomputed; tokens never change once the sequence has
/// them, so what agreed once agrees for good). Finished sequences' draft KV is freed at the next proposal; when the
/// draft cache is full, sequences not proposing this step give theirs up first, and a sequence that still does not fit
/// gets no draft. Step loop only.
/// </remarks>
public sealed class DraftModelProposer : IProposer, IDisposable
{
    private readonly IModelBackend _backend;
    private readonly BlockManager _blocks;
    private readonly ForwardOutput _output;
    private readonly Sampler _sampler = new();
    private readonly Dictionary<Sequence, DraftState> _states = [];
    private readonly int _blockSize;
    private float[] _q = [];

    /// <param name="backend">The draft model's backend; this proposer allocates its KV cache and disposes it.</param>
    public DraftModelProposer(IModelBackend backend, int numKvBlocks, int blockSize, int targetVocabSize)
    {
        if (backend.VocabSize != targetVocabSize)
        {
            throw new ArgumentException($"the draft model's vocabulary ({backend.VocabSize}) differs from the target's ({targetVocabSize}): they must share a tokenizer");
        }

        _backend = backend;
        _blockSize = blockSize;
        backend.AllocateKvCache(numKvBlocks, blockSize);
        _blocks = new BlockManager(numKvBlocks, blockSize, watermarkFraction: 0);
        _output = new ForwardOutput(backend.VocabSize);
    }

    public string Method => SpeculativeConfig.DraftModel;

    /// <summary>Draft KV blocks in use (all of them free once every sequence has finished and a proposal has run).</summary>
    public int UsedBlocks => _blocks.UsedBlocks;

    public void Propose(IReadOnlyList<DraftRequest> requests)
    {
        ForgetFinished();
        var active = new List<(Sequence Seq, DraftState State, int MaxTokens)>(requests.Count);
        foreach (var (seq, maxTokens) in requests)
        {
            seq.Speculation.Draft.Clear();
            var state = _states.TryGetValue(seq, out var s) ? s : _states[seq] = new DraftState();
            state.KeepAgreeing(seq, _blocks);

            // The catch-up chunk ends at the sequence's last token; k − 1 more positions follow for the draft tokens fed back.
            if (Reserve(state, seq.Length + maxTokens - 1, requests))
            {
                active.Add((seq, state, maxTokens));
            }
        }

        if (active.Count == 0)
        {
            return;
        }

        // First pass: every sequence's uncomputed tokens, the last one's logits giving the first draft token. Where every
        // proposing request is greedy and the draft's backend samples, only argmax ids come back from the device.
        var deviceArgMax = _backend.SupportsDeviceSampling && active.All(a => a.Seq.Sampling.IsGreedy);
        Run(active.Select(a => (a.State, (IReadOnlyList<int>)a.Seq.Tokens, a.Seq.Length)).ToList(), deviceArgMax);
        for (var i = 0; i < active.Count; i++)
        {
            DrawInto(active[i].Seq, i);
        }

        // Then one token at a time for those wanting more.
        for (var step = 1; ; step++)
        {
            var more = active.Where(a => a.MaxTokens > step).ToList();
            if (more.Count == 0)
            {
                break;
            }

            Run(more.Select(a => (a.State, (IReadOnlyList<int>)[a.Seq.Speculation.Draft[step - 1]], 1)).ToList(), deviceArgMax, fedBack: true);
            for (var i = 0; i < more.Count; i++)
            {
                DrawInto(more[i].Seq, i);
            }
        }
    }

    /// <summary>The engine's rollback hint: positions from <paramref name="keptTokens"/> on are no longer trusted.</summary>
    public void Truncate(Sequence sequence, int keptTokens)
    {
        if (_states.TryGetValue(sequence, out var state))
        {
            if (keptTokens == 0 || sequence.Status == SequenceStatus.Finished)
            {
                _blocks.Release(state.Blocks);
                _states.Remove(sequence);
                return;
            }

            state.TruncateTo(keptTokens, _blocks);
        }
    }

    /// <summary>Checks the draft cache's block accounting against the states held (free + used == total).</summary>
    public void CheckIntegrity() => _blocks.CheckIntegrity(_states.Values.Select(s => s.Blocks));

    public void Dispose() => _backend.Dispose();

    /// <summary>Frees the draft KV of sequences that have finished (each proposal does this first).</summary>
    public void ForgetFinished()
    {
        foreach (var seq in _states.Keys.Where(s => s.Status == SequenceStatus.Finished).ToList())
        {
            _blocks.Release(_states[seq].Blocks);
            _states.Remove(seq);
        }
    }

    /// <summary>Gives <paramref name="state"/> blocks for <paramref name="positions"/> positions, taking them from sequences not proposing now if need be.</summary>
    private bool Reserve(DraftState state, int positions, IReadOnlyList<DraftRequest> requests)
    {
        var needed = _blocks.BlocksFor(positions) - state.Blocks.Count;
        if (!_blocks.CanAppend(needed))
        {
            var proposing = requests.Select(r => r.Sequence).ToHashSet();
            foreach (var (seq, idle) in _states.Where(e => !proposing.Contains(e.Key)).ToList())
            {
                _blocks.Release(idle.Blocks);
                _states.Remove(seq);
                if (_blocks.CanAppend(needed))
                {
                    break;
                }
            }
        }

        if (!_blocks.CanAppend(needed))
        {
            return false;
        }

        _blocks.EnsureCapacity(state.Blocks, positions);
        return true;
    }

    /// <summary>
    /// One forward pass of the draft: for each state, the tokens of <c>source</c> from its computed position up to
    /// <c>end</c> (or, <paramref name="fedBack"/>, the one draft token given), logits for the last of each (or, with
    /// <paramref name="deviceArgMax"/>, their argmax sampled by the backend).
    /// </summary>
    private void Run(List<(DraftState State, IReadOnlyList<int> Source, int End)> work, bool deviceArgMax, bool fedBack = false)
    {
        var tokens = new List<int>();
        var slices = new SequenceSlice[work.Count];
        for (var i = 0; i < work.Count; i++)
        {
            var (state, source, end) = work[i];
            var from = fedBack ? 0 : state.Computed;
            Debug.Assert(end > from, "a catch-up chunk always holds at least the sequence's last token");
            var start = tokens.Count;
            for (var t = from; t < end; t++)
            {
                tokens.Add(source[t]);
                state.Fed.Add(source[t]);
            }

            slices[i] = new SequenceSlice(start, end - from, state.Computed, state.Blocks.AsMemory(), NeedsLogits: true);
            state.Computed += end - from;
        }

        var argMax = deviceArgMax ? Enumerable.Repeat(new DeviceSamplingRow(0f, 0, 1f, 0f, 0f), work.Count).ToArray() : null;
        _backend.Forward(new ForwardBatch([.. tokens], slices, _blockSize, argMax), _output);
    }

    /// <summary>Draws the next draft token of <paramref name="seq"/> from output row <paramref name="row"/>.</summary>
    private void DrawInto(Sequence seq, int row)
    {
        var p = seq.Sampling;
        if (!_output.HasLogits(row))
        {
            Debug.Assert(p.IsGreedy, "only all-greedy proposals are sampled by the backend");
            seq.Speculation.Draft.Add(_output.SampledTokens[row]);
            return;
        }

        var logits = _output.LogitRow(row);
        if (p.IsGreedy)
        {
            seq.Speculation.Draft.Add(System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits));
            return;
        }

        if (_q.Length < logits.Length)
        {
            _q = new float[logits.Length];
        }

        // Any q keeps the output exact; the request's temperature and truncation make it a closer one. Penalties and bias
        // are the target's business (the verifier applies them to p).
        var q = _q.AsSpan(0, logits.Length);
        _sampler.Distribution(logits, p with { PresencePenalty = 0, FrequencyPenalty = 0, RepetitionPenalty = 1, LogitBias = null, Logprobs = null }, PenaltyState.None, q);
        var state = _states[seq];
        var u = state.Random(seq).NextUniform();
        var cumulative = 0f;
        var token = -1;
        for (var i = 0; i < q.Length; i++)
        {
            if (q[i] > 0f)
            {
                token = i;
                cumulative += q[i];
                if (cumulative > u)
                {
                    break;
                }
            }
        }

        seq.Speculation.Draft.Add(token, q);
    }

    /// <summary>One sequence's draft KV: its blocks, the tokens whose K/V they hold, and how many.</summary>
    private sealed class DraftState
    {
        private SequenceRandom? _random;
        private int _confirmed;

        public BlockTable Blocks { get; } = new();

        /// <summary>The token at each computed position (what the draft saw; may include draft tokens since rejected).</summary>
        public List<int> Fed { get; } = [];

        public int Computed { get; set; }

        /// <summary>
        /// The draft's own stream for drawing draft tokens, seeded from the request's seed (so a seeded request drafts the
        /// same tokens run to run) but apart from the stream verification draws from.
        /// </summary>
        public SequenceRandom Random(Sequence seq) =>
            _random ??= new SequenceRandom(seq.Sampling.Seed is { } s ? (ulong)s ^ 0xD1A5_7EED_0000_0001UL : (ulong)System.Random.Shared.NextInt64());

        /// <summary>Keeps the leading computed positions whose token still agrees with the sequence (at most all but its last token).</summary>
        public void KeepAgreeing(Sequence seq, BlockManager blocks)
        {
            // Positions that agreed once agree for good (a sequence's tokens never change): start from there.
            var keep = Math.Min(_confirmed, Computed);
            var limit = Math.Min(Computed, seq.Length - 1);
            while (keep < limit && Fed[keep] == seq.Tokens[keep])
            {
                keep++;
            }

            _confirmed = keep;
            TruncateTo(keep, blocks);
        }

        public void TruncateTo(int positions, BlockManager blocks)
        {
            if (positions < Computed)
            {
                Computed = positions;
                _confirmed = Math.Min(_confirmed, positions);
                Fed.RemoveRange(positions, Fed.Count - positions);
                blocks.TruncateTo(Blocks, positions);
            }
        }
    }
}
