using System.Diagnostics.CodeAnalysis;
using Brim.Core;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Stepping;

/// <summary>
/// The requests the engine holds, from leaving the inbox until their final update: each one's sequence and observer.
/// Every final update goes through <see cref="Complete"/>, so a request ends exactly once whatever ends it (a stop,
/// its length, a cancel, a rejection, a failed step, shutdown): the scheduler finishes its sequence, which frees its
/// blocks before the next schedule, and <c>released</c> gives its place in the engine's admission count back.
/// </summary>
/// <remarks>Step loop only; observers run there and must not block.</remarks>
internal sealed class LiveRequests(Scheduler scheduler, Action released)
{
    private readonly Dictionary<RequestId, (Sequence Sequence, Action<GenerationUpdate> Observer)> _live = [];

    public bool Contains(RequestId id) => _live.ContainsKey(id);

    public void Add(Sequence seq, Action<GenerationUpdate> observer) => _live[seq.Id] = (seq, observer);

    public bool TryGet(RequestId id, [MaybeNullWhen(false)] out Sequence seq)
    {
        var found = _live.TryGetValue(id, out var entry);
        seq = found ? entry.Sequence : null;
        return found;
    }

    /// <summary>The live sequences, copied: completing them while iterating is allowed.</summary>
    public List<Sequence> ToList() => [.. _live.Values.Select(e => e.Sequence)];

    /// <summary>Reports a token that did not finish the sequence.</summary>
    public void Progress(Sequence seq, int token, string text, IReadOnlyList<TokenLogprobs>? logprobs)
    {
        if (_live.TryGetValue(seq.Id, out var entry))
        {
            entry.Observer(new GenerationUpdate
            {
                Id = seq.Id,
                NewTokens = [token],
                TextDelta = text,
                Logprobs = logprobs,
                PromptTokenCount = seq.PromptLength,
                CompletionTokenCount = seq.OutputLength,
                CachedPromptTokenCount = seq.CachedPromptTokens ?? 0,
            });
        }
    }

    /// <summary>Finishes the sequence in the scheduler (its blocks are freed now) and sends the request's final update.</summary>
    public void Complete(
        Sequence seq, int[] newTokens, string text, FinishReason reason, IReadOnlyList<TokenLogprobs>? logprobs, string? error = null,
        GenerationErrorKind errorKind = GenerationErrorKind.Internal)
    {
        if (seq.Status != SequenceStatus.Finished)
        {
            scheduler.Finish(seq);
        }

        if (_live.Remove(seq.Id, out var entry))
        {
            released();
            entry.Observer(new GenerationUpdate
            {
                Id = seq.Id,
                NewTokens = newTokens,
                TextDelta = text,
                Logprobs = logprobs,
                FinishReason = reason,
                Error = error,
                ErrorKind = error is null ? null : errorKind,
                PromptTokenCount = seq.PromptLength,
                CompletionTokenCount = seq.OutputLength,
                CachedPromptTokenCount = seq.CachedPromptTokens ?? 0,
            });
        }
    }
}
