namespace Brim.Engine.Speculative;

/// <summary>
/// Speculative decoding's counters since the engine started, copied for metrics (vLLM's spec_decode families):
/// drafts verified, draft tokens proposed and accepted, accepted tokens by position in the draft, steps where the
/// policy turned speculation off, and the seconds spent proposing. Accepted ≤ proposed at every read.
/// </summary>
public sealed record SpeculationSnapshot(
    string Method, long Drafts, long DraftTokens, long AcceptedTokens, IReadOnlyList<long> AcceptedByPosition, long StepsOff, double DraftSeconds)
{
    /// <summary>Accepted draft tokens / proposed ones; null before any draft.</summary>
    public double? AcceptanceRate => DraftTokens == 0 ? null : (double)AcceptedTokens / DraftTokens;

    /// <summary>Tokens a verified draft yielded on average, its accepted prefix plus the target's own token; null before any.</summary>
    public double? MeanAcceptedLength => Drafts == 0 ? null : 1 + ((double)AcceptedTokens / Drafts);
}
