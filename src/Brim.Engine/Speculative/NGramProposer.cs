namespace Brim.Engine.Speculative;

/// <summary>
/// Prompt lookup decoding (vLLM's "ngram" method): no model; the last n tokens of the sequence are looked up earlier in
/// its prompt and output, for n from <see cref="MaxMatch"/> down to <see cref="MinMatch"/>, and the tokens that followed
/// the most recent earlier occurrence are proposed. Pays off where the output repeats its input (summaries, code edits,
/// extraction, quoting) and costs nothing where it finds no match. Proposals are point masses.
/// </summary>
public sealed class NGramProposer : IProposer
{
    public NGramProposer(int minMatch, int maxMatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minMatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMatch, minMatch);
        MinMatch = minMatch;
        MaxMatch = maxMatch;
    }

    public string Method => SpeculativeConfig.NGram;

    /// <summary>Shortest suffix looked up (vLLM's prompt_lookup_min).</summary>
    public int MinMatch { get; }

    /// <summary>Longest suffix looked up, tried first (vLLM's prompt_lookup_max).</summary>
    public int MaxMatch { get; }

    public void Propose(IReadOnlyList<DraftRequest> requests)
    {
        foreach (var (seq, maxTokens) in requests)
        {
            var draft = seq.Speculation.Draft;
            draft.Clear();
            if (maxTokens > 0)
            {
                Propose(seq.TokenSpan(0, seq.Length), maxTokens, draft);
            }
        }
    }

    /// <summary>Nothing is kept per sequence.</summary>
    public void Truncate(Sequence sequence, int keptTokens)
    {
    }

    /// <summary>
    /// Appends to <paramref name="draft"/> up to <paramref name="maxTokens"/> tokens that followed the most recent earlier
    /// occurrence of the longest suffix of <paramref name="tokens"/> (between the match bounds) found earlier in it.
    /// </summary>
    public void Propose(ReadOnlySpan<int> tokens, int maxTokens, DraftTokens draft)
    {
        for (var n = Math.Min(MaxMatch, tokens.Length - 1); n >= MinMatch; n--)
        {
            var suffix = tokens[^n..];
            // The most recent occurrence first: recent text predicts the continuation best. An occurrence must end before
            // the suffix starts being itself, and have at least one token after it.
            for (var start = tokens.Length - n - 1; start >= 0; start--)
            {
                if (tokens.Slice(start, n).SequenceEqual(suffix))
                {
                    var follow = tokens.Slice(start + n, Math.Min(maxTokens, tokens.Length - start - n));
                    foreach (var t in follow)
                    {
                        draft.Add(t);
                    }

                    return;
                }
            }
        }
    }
}
