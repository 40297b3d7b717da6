using System.Diagnostics;
using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.Sampling;
using Brim.Engine.Scheduling;
using Brim.Engine.Speculative;

namespace Brim.Engine.Stepping;

/// <summary>
/// Turns a forward pass's output into each sequence's progress (nano-vllm's <c>postprocess</c>). For every chunk of
/// the plan, in plan order, it marks the chunk computed (<see cref="Scheduler.Computed"/>, which also registers newly
/// full blocks in the prefix cache); for a chunk that samples it takes the token of the next logit row (the backend's
/// device sample, else <see cref="Sampler"/> on the row's logits with the sequence's penalties and seeded stream, on
/// several cores at once when the step has many such rows: <see cref="HostRowSampling"/>),
/// appends it, and checks EOS and stop tokens, stop strings, max_tokens and the model's length, then reports progress
/// or completes the request through <see cref="LiveRequests.Complete"/>, which frees its blocks at once.
/// </summary>
/// <remarks>
/// Step loop only, once per forward pass, with that pass's plan and output. Mutates the plan's sequences (tokens,
/// penalties, random stream, text output, first-token time), the scheduler and its blocks, and the live requests.
/// Logit rows follow the sampling chunks in plan order, as <see cref="StepBatchBuilder"/> laid them out; a chunk that
/// verifies a draft has 1 + k of them, and <see cref="SpeculativeDecoding"/> turns them into 1 to k + 1 tokens, each
/// handed to <see cref="Emit"/> like a sampled one.
/// </remarks>
internal sealed class TokenAcceptor
{
    private readonly Scheduler _scheduler;
    private readonly LiveRequests _live;
    private readonly HashSet<int> _eos;
    private readonly int _maxModelLength;
    private readonly SpeculativeDecoding? _speculation;
    private readonly TokenSink _emit;
    private readonly Sampler _sampler;
    private readonly HostRowSampling _hostRows;

    public TokenAcceptor(
        Scheduler scheduler, LiveRequests live, IEnumerable<int> eosTokenIds, int maxModelLength, Sampler sampler, SpeculativeDecoding? speculation,
        long hostSamplingParallelWork = HostRowSampling.DefaultMinParallelWork)
    {
        _scheduler = scheduler;
        _live = live;
        _eos = [.. eosTokenIds];
        _maxModelLength = maxModelLength;
        _sampler = sampler;
        _speculation = speculation;
        _emit = Emit;
        // The forward pass is done when acceptance runs, so the cores are free (a CPU backend's included).
        _hostRows = new HostRowSampling(Math.Min(Environment.ProcessorCount, MaxSamplingWorkers)) { MinParallelWork = hostSamplingParallelWork };
    }

    private const int MaxSamplingWorkers = 16;

    /// <summary>Accepts the step's tokens; returns how many were produced.</summary>
    public int Accept(SchedulerOutput plan, ForwardOutput output)
    {
        _hostRows.Prepare(plan, output);
        var row = 0;
        var produced = 0;
        foreach (var chunk in plan.Chunks)
        {
            if (chunk.Drafts > 0)
            {
                var before = chunk.Sequence.OutputLength;
                row += _speculation!.Accept(chunk, output, row, _emit);
                produced += chunk.Sequence.OutputLength - before;
                continue;
            }

            // Read before Computed moves the sequence's computed position past the chunk.
            var samples = chunk.SamplesNextToken;
            _scheduler.Computed(chunk);
            if (samples)
            {
                AcceptToken(chunk.Sequence, output, row++);
                produced++;
            }
        }

        return produced;
    }

    private void AcceptToken(Sequence seq, ForwardOutput output, int row)
    {
        int token;
        TokenLogprobs? logprobs = null;
        if (!output.HasLogits(row))
        {
            token = output.SampledTokens[row];
            logprobs = DeviceLogprobs.Read(output, row, seq.Sampling);
        }
        else if (!_hostRows.TryTake(row, out token, out logprobs))
        {
            var uniform = seq.Sampling.IsGreedy ? 0f : seq.Random.NextUniform();
            token = _sampler.Sample(output.LogitRow(row), seq.Sampling, seq.Penalties, uniform, out logprobs);
        }

        Emit(seq, token, logprobs);
    }

    /// <summary>
    /// Appends <paramref name="token"/> and checks EOS and stop tokens, stop strings, max_tokens and the model's length;
    /// reports progress, or completes the request (freeing its blocks). Returns whether the sequence goes on.
    /// </summary>
    private bool Emit(Sequence seq, int token, TokenLogprobs? logprobs)
    {
        seq.Append(token);
        seq.FirstTokenTimestamp ??= Stopwatch.GetTimestamp();
        var p = seq.Sampling;
        var logprobList = logprobs is null ? null : new[] { logprobs };

        if ((!p.IgnoreEos && _eos.Contains(token)) || p.StopTokenIds.Contains(token))
        {
            _live.Complete(seq, [token], seq.Text?.Flush() ?? string.Empty, FinishReason.Stop, logprobList);
            return false;
        }

        var stopped = false;
        var text = seq.Text is { } textOutput ? textOutput.Push(token, out stopped) : string.Empty;
        if (stopped)
        {
            _live.Complete(seq, [token], text, FinishReason.Stop, logprobList);
            return false;
        }

        if (seq.OutputLength >= p.MaxTokens || seq.Length >= _maxModelLength)
        {
            _live.Complete(seq, [token], text + (seq.Text?.Flush() ?? string.Empty), FinishReason.Length, logprobList);
            return false;
        }

        _live.Progress(seq, token, text, logprobList);
        return true;
    }
}
