using System.Diagnostics;
using Brim.Core;
using Brim.Core.Execution;
using Brim.Engine.Sampling;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Stepping;

/// <summary>
/// Turns a forward pass's output into each sequence's progress (nano-vllm's <c>postprocess</c>). For every chunk of
/// the plan, in plan order, it marks the chunk computed (<see cref="Scheduler.Computed"/>, which also registers newly
/// full blocks in the prefix cache); for a chunk that samples it takes the token of the next logit row (the backend's
/// device sample, else <see cref="Sampler"/> on the row's logits with the sequence's penalties and seeded stream),
/// appends it, and checks EOS and stop tokens, stop strings, max_tokens and the model's length, then reports progress
/// or completes the request through <see cref="LiveRequests.Complete"/>, which frees its blocks at once.
/// </summary>
/// <remarks>
/// Step loop only, once per forward pass, with that pass's plan and output. Mutates the plan's sequences (tokens,
/// penalties, random stream, text output, first-token time), the scheduler and its blocks, and the live requests.
/// Logit rows follow the sampling chunks in plan order, as <see cref="StepBatchBuilder"/> laid them out.
/// </remarks>
internal sealed class TokenAcceptor(Scheduler scheduler, LiveRequests live, IEnumerable<int> eosTokenIds, int maxModelLength)
{
    private readonly Sampler _sampler = new();
    private readonly HashSet<int> _eos = [.. eosTokenIds];

    /// <summary>Accepts the step's tokens; returns how many were sampled.</summary>
    public int Accept(SchedulerOutput plan, ForwardOutput output)
    {
        var row = 0;
        foreach (var chunk in plan.Chunks)
        {
            // Read before Computed moves the sequence's computed position past the chunk.
            var samples = chunk.SamplesNextToken;
            scheduler.Computed(chunk);
            if (samples)
            {
                AcceptToken(chunk.Sequence, output, row++);
            }
        }

        return row;
    }

    private void AcceptToken(Sequence seq, ForwardOutput output, int row)
    {
        int token;
        TokenLogprobs? logprobs = null;
        if (output.Sampled)
        {
            token = output.SampledTokens[row];
        }
        else
        {
            var uniform = seq.Sampling.IsGreedy ? 0f : seq.Random.NextUniform();
            token = _sampler.Sample(output.LogitRow(row), seq.Sampling, seq.Penalties, uniform, out logprobs);
        }

        seq.Append(token);
        seq.FirstTokenTimestamp ??= Stopwatch.GetTimestamp();
        var p = seq.Sampling;
        var logprobList = logprobs is null ? null : new[] { logprobs };

        if ((!p.IgnoreEos && _eos.Contains(token)) || p.StopTokenIds.Contains(token))
        {
            live.Complete(seq, [token], seq.Text?.Flush() ?? string.Empty, FinishReason.Stop, logprobList);
            return;
        }

        var stopped = false;
        var text = seq.Text is { } textOutput ? textOutput.Push(token, out stopped) : string.Empty;
        if (stopped)
        {
            live.Complete(seq, [token], text, FinishReason.Stop, logprobList);
        }
        else if (seq.OutputLength >= p.MaxTokens || seq.Length >= maxModelLength)
        {
            live.Complete(seq, [token], text + (seq.Text?.Flush() ?? string.Empty), FinishReason.Length, logprobList);
        }
        else
        {
            live.Progress(seq, token, text, logprobList);
        }
    }
}
