using Brim.Core.Execution;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Sampling;

/// <summary>
/// Samples a step's plain host rows (rows whose logits came back: every row of a backend that does not sample, and the
/// rows of requests with penalties or a logit bias on one that does) ahead of acceptance, spread over the cores when the
/// step has enough of them. Over a 128k vocabulary one row costs 0.1–3 ms on the host, so a step of many such rows would
/// otherwise wait for them one by one. Verify rows are left to the verifier (their tokens depend on each other).
/// </summary>
/// <remarks>
/// Step loop only. The same tokens as sampling the rows one by one: each row's uniform is drawn here from its own
/// sequence's stream (one draw per token, as <see cref="Stepping.TokenAcceptor"/> would), every worker has its own
/// <see cref="Sampler"/> scratch, penalties only read their sequence's state, and rows are disjoint slices of the output.
/// </remarks>
internal sealed class HostRowSampling(int workers)
{
    private readonly Sampler[] _samplers = [.. Enumerable.Range(0, Math.Max(1, workers)).Select(_ => new Sampler())];
    private readonly List<(Sequence Seq, int Row, float Uniform)> _work = [];
    private int[] _tokens = [];
    private TokenLogprobs?[] _logprobs = [];
    private int[] _slotOfRow = [];

    /// <summary>
    /// The default of <see cref="MinParallelWork"/>: two rows of a 128k vocabulary. Such a row costs 0.1–3 ms to sample,
    /// handing rows to the thread pool tens of microseconds; on a small vocabulary one by one stays cheaper.
    /// </summary>
    public const long DefaultMinParallelWork = 1L << 18;

    /// <summary>Rows × vocabulary below which a step's host rows are sampled in the acceptance loop, one by one.</summary>
    public long MinParallelWork { get; init; } = DefaultMinParallelWork;

    /// <summary>
    /// Samples the plain host rows of <paramref name="plan"/> now when they are worth spreading (at least two, and
    /// <see cref="MinParallelWork"/> logits in all); otherwise leaves them to <see cref="TryTake"/>'s caller.
    /// </summary>
    public void Prepare(SchedulerOutput plan, ForwardOutput output)
    {
        _work.Clear();
        var rows = output.Rows;
        if (_slotOfRow.Length < rows)
        {
            _slotOfRow = new int[Math.Max(rows, _slotOfRow.Length * 2)];
        }

        _slotOfRow.AsSpan(0, rows).Fill(-1);
        var row = 0;
        foreach (var chunk in plan.Chunks)
        {
            if (chunk.Drafts > 0)
            {
                row += chunk.Drafts + 1;
                continue;
            }

            if (!chunk.SamplesNextToken)
            {
                continue;
            }

            if (output.HasLogits(row))
            {
                _work.Add((chunk.Sequence, row, 0f));
            }

            row++;
        }

        if (_samplers.Length < 2 || _work.Count < 2 || (long)_work.Count * output.VocabSize < MinParallelWork)
        {
            _work.Clear();
            return;
        }

        Sample(output);
    }

    /// <summary>The token (and logprobs) sampled ahead for <paramref name="row"/>; false when the row was left to the caller.</summary>
    public bool TryTake(int row, out int token, out TokenLogprobs? logprobs)
    {
        var slot = row < _slotOfRow.Length ? _slotOfRow[row] : -1;
        token = slot >= 0 ? _tokens[slot] : -1;
        logprobs = slot >= 0 ? _logprobs[slot] : null;
        return slot >= 0;
    }

    private void Sample(ForwardOutput output)
    {
        if (_tokens.Length < _work.Count)
        {
            _tokens = new int[_work.Count * 2];
            _logprobs = new TokenLogprobs?[_work.Count * 2];
        }

        // Uniforms drawn in plan order, one per token, before any worker runs: the streams advance as one by one.
        for (var i = 0; i < _work.Count; i++)
        {
            var (seq, row, _) = _work[i];
            _work[i] = (seq, row, seq.Sampling.IsGreedy ? 0f : seq.Random.NextUniform());
            _slotOfRow[row] = i;
        }

        var perWorker = (_work.Count + _samplers.Length - 1) / _samplers.Length;
        Parallel.For(0, _samplers.Length, w =>
        {
            var sampler = _samplers[w];
            for (var i = w * perWorker; i < Math.Min(_work.Count, (w + 1) * perWorker); i++)
            {
                var (seq, row, uniform) = _work[i];
                _tokens[i] = sampler.Sample(output.LogitRow(row), seq.Sampling, seq.Penalties, uniform, out var logprobs);
                _logprobs[i] = logprobs;
            }
        });
    }
}
