namespace Brim.Engine.Speculative;

/// <summary>
/// Proposes draft tokens that the target model then verifies in one forward pass. Implementations: prompt lookup
/// (<see cref="NGramProposer"/>, no model); a draft model or EAGLE-style heads fit the same contract: they propose for
/// every sequence of a step in one call (one batched draft pass) and may attach the distribution each draft token was
/// drawn from, which verification then needs for the rejection rule.
/// </summary>
/// <remarks>Step loop only, once per step before scheduling.</remarks>
public interface IProposer
{
    /// <summary>The method's name as <c>--speculative-config</c> spells it ("ngram", "draft_model").</summary>
    string Method { get; }

    /// <summary>
    /// Fills each request's <see cref="SequenceSpeculation.Draft"/> with at most <see cref="DraftRequest.MaxTokens"/>
    /// tokens (fewer, or none, where the proposer has no good guess: a missing draft costs nothing).
    /// </summary>
    void Propose(IReadOnlyList<DraftRequest> requests);

    /// <summary>
    /// Forgets whatever the proposer keeps for <paramref name="sequence"/> (a draft model's KV) past its first
    /// <paramref name="keptTokens"/> tokens: after a rejection, a preemption (0) or when it finishes (0).
    /// </summary>
    void Truncate(Sequence sequence, int keptTokens);
}

/// <summary>One sequence to propose for this step, and the most draft tokens the policy allows it.</summary>
public readonly record struct DraftRequest(Sequence Sequence, int MaxTokens);
