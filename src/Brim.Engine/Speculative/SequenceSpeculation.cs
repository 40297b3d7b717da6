namespace Brim.Engine.Speculative;

/// <summary>
/// A sequence's speculative state: this step's draft and how well drafts have fared for it (an exponentially weighted
/// per-token acceptance rate, which the <see cref="SpeculationPolicy"/> turns into the expected tokens of a k-token draft).
/// </summary>
public sealed class SequenceSpeculation
{
    /// <summary>Weight of the newest verification in the acceptance average: about the last ten verifications count.</summary>
    public const double Smoothing = 0.1;

    /// <summary>Where the estimate starts: optimistic enough that a new sequence tries speculation and measures.</summary>
    public const double PriorAcceptance = 0.5;

    public DraftTokens Draft { get; } = new();

    /// <summary>Estimated chance that the next draft token is accepted, given the previous one was.</summary>
    public double Acceptance { get; private set; } = PriorAcceptance;

    /// <summary>
    /// Folds in one verification: <paramref name="accepted"/> of <paramref name="proposed"/> draft tokens kept. Under
    /// the geometric model each draft token is an independent trial until the first rejection, so the trials seen are
    /// the accepted tokens plus the one rejected (none when every token was kept).
    /// </summary>
    internal void Observe(int proposed, int accepted)
    {
        if (proposed == 0)
        {
            return;
        }

        var trials = accepted + (accepted < proposed ? 1 : 0);
        var rate = (double)accepted / trials;
        Acceptance += Smoothing * (rate - Acceptance);
    }

    /// <summary>
    /// A step without a draft: the estimate drifts slowly back towards the prior, so a sequence whose drafts once failed
    /// is tried again later (its text may have turned repetitive) instead of being written off for good.
    /// </summary>
    internal void Rest() => Acceptance += Smoothing * 0.1 * (PriorAcceptance - Acceptance);
}
