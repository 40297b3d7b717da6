namespace Brim.Core.Execution;

/// <summary>
/// One sequence's part of a ragged forward batch: a prefill chunk, a single decode token, or a decode token followed by
/// speculative draft tokens to verify (whose every position needs logits).
/// The slice's tokens sit at positions <c>StartPosition .. StartPosition + TokenCount - 1</c>; the K/V of positions
/// before <see cref="StartPosition"/> are already in the paged cache. Position <c>p</c> lives in block
/// <c>BlockTable[p / blockSize]</c> at offset <c>p % blockSize</c>.
/// </summary>
/// <param name="TokenStart">Index of the slice's first token in <see cref="ForwardBatch.TokenIds"/>.</param>
/// <param name="TokenCount">Tokens computed this step (a prefill chunk, or 1 for a decode step).</param>
/// <param name="StartPosition">Tokens of this sequence already in the KV cache.</param>
/// <param name="BlockTable">Physical KV blocks covering positions 0 .. StartPosition + TokenCount - 1.</param>
/// <param name="NeedsLogits">Whether the slice's last token is sampled this step (false for a non-final prefill chunk).</param>
/// <param name="LogitTokens">
/// When <paramref name="NeedsLogits"/>: how many of the slice's trailing tokens get a logit row (1 normally; 1 + k when
/// the slice verifies k draft tokens, each row the distribution of the position after its token).
/// </param>
public readonly record struct SequenceSlice(
    int TokenStart,
    int TokenCount,
    int StartPosition,
    ReadOnlyMemory<int> BlockTable,
    bool NeedsLogits,
    int LogitTokens = 1)
{
    /// <summary>Logit rows this slice adds to the output: its last <see cref="LogitTokens"/> tokens, or none.</summary>
    public int LogitRowCount => NeedsLogits ? LogitTokens : 0;

    /// <summary>Index in <see cref="ForwardBatch.TokenIds"/> of the slice's first token with a logit row.</summary>
    public int FirstLogitToken => TokenStart + TokenCount - LogitRowCount;

    /// <summary>Tokens in the cache once this step has run: the attention context of the slice's last token.</summary>
    public int ContextLength => StartPosition + TokenCount;
}
