namespace Brim.Engine.Speculative;

/// <summary>
/// Speculative decoding's counters since the engine started, in vLLM's terms: drafts verified, draft tokens proposed
/// and accepted (also by position in the draft), steps where the policy chose no draft though sequences were decoding,
/// and the seconds spent proposing. Written by the step loop; read from any thread (values may be one step old).
/// </summary>
public sealed class SpeculationMetrics
{
    private readonly long[] _acceptedAtPosition;
    private long _drafts;
    private long _draftTokens;
    private long _acceptedTokens;
    private long _stepsOff;
    private long _draftTicks;

    public SpeculationMetrics(int maxDraftLength) => _acceptedAtPosition = new long[maxDraftLength];

    /// <summary>Drafts verified (one per sequence and step that speculated).</summary>
    public long Drafts => Interlocked.Read(ref _drafts);

    public long DraftTokens => Interlocked.Read(ref _draftTokens);

    public long AcceptedTokens => Interlocked.Read(ref _acceptedTokens);

    /// <summary>Steps with decoding sequences that opted in where the policy chose no draft for any of them.</summary>
    public long StepsOff => Interlocked.Read(ref _stepsOff);

    public double DraftSeconds => TimeSpan.FromTicks(Interlocked.Read(ref _draftTicks)).TotalSeconds;

    /// <summary>Accepted draft tokens / proposed ones (0 before any draft).</summary>
    public double AcceptanceRate => DraftTokens == 0 ? 0 : (double)AcceptedTokens / DraftTokens;

    /// <summary>Tokens a verified draft yields on average: its accepted prefix plus the target's own token (vLLM's mean acceptance length).</summary>
    public double MeanAcceptedLength => Drafts == 0 ? 0 : 1 + ((double)AcceptedTokens / Drafts);

    public int MaxDraftLength => _acceptedAtPosition.Length;

    /// <summary>Drafts whose token at <paramref name="position"/> (0-based) was accepted.</summary>
    public long AcceptedAtPosition(int position) => Interlocked.Read(ref _acceptedAtPosition[position]);

    /// <summary>A copy for metrics; accepted tokens are read before the proposed ones, so accepted ≤ proposed always holds.</summary>
    public SpeculationSnapshot Snapshot(string method)
    {
        var byPosition = new long[_acceptedAtPosition.Length];
        for (var i = 0; i < byPosition.Length; i++)
        {
            byPosition[i] = AcceptedAtPosition(i);
        }

        var accepted = AcceptedTokens;
        var drafts = Drafts;
        return new SpeculationSnapshot(method, drafts, DraftTokens, accepted, byPosition, StepsOff, DraftSeconds);
    }

    internal void RecordVerification(int proposed, int accepted)
    {
        Interlocked.Add(ref _draftTokens, proposed); // before the accepted ones: see Snapshot
        Interlocked.Add(ref _acceptedTokens, accepted);
        Interlocked.Increment(ref _drafts);
        for (var i = 0; i < accepted; i++)
        {
            Interlocked.Increment(ref _acceptedAtPosition[i]);
        }
    }

    internal void RecordStepOff() => Interlocked.Increment(ref _stepsOff);

    internal void RecordDraftTime(TimeSpan elapsed) => Interlocked.Add(ref _draftTicks, elapsed.Ticks);
}
