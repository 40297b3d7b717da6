namespace Brim.Engine.Scheduling;

/// <summary>
/// What a step carries, by the kinds of work that cost differently: decode rows (one token each, nearly free while a GPU
/// step is bandwidth-bound), prefill tokens (compute), and the KV positions attention reads (grows with context).
/// </summary>
/// <param name="DecodeTokens">Rows that extend a sequence by one token after its prompt.</param>
/// <param name="PrefillTokens">Tokens of multi-token chunks (prompts, recomputes).</param>
/// <param name="AttentionPositions">Σ over the step's tokens of the positions each one attends to (its own included).</param>
public readonly record struct StepShape(int DecodeTokens, int PrefillTokens, long AttentionPositions)
{
    public int Tokens => DecodeTokens + PrefillTokens;

    /// <summary>
    /// One chunk of <paramref name="tokens"/> tokens starting at position <paramref name="start"/>: token i attends to
    /// start + i positions, so the chunk reads tokens × start + tokens × (tokens + 1) / 2.
    /// </summary>
    public static StepShape Chunk(int start, int tokens, bool decode) =>
        new(decode ? tokens : 0, decode ? 0 : tokens, AttentionOf(start, tokens));

    /// <summary>Positions a chunk of <paramref name="tokens"/> at <paramref name="start"/> reads.</summary>
    public static long AttentionOf(int start, int tokens) => ((long)tokens * start) + ((long)tokens * (tokens + 1) / 2);

    public static StepShape operator +(StepShape a, StepShape b) =>
        new(a.DecodeTokens + b.DecodeTokens, a.PrefillTokens + b.PrefillTokens, a.AttentionPositions + b.AttentionPositions);
}
