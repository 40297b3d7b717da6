namespace Brim.Tokenization.Bpe;

/// <summary>
/// SentencePiece and llama2.c run BPE over the whole text, but when no mergeable piece has a space marker after a
/// non-space character, no merge can ever cross the start of a "▁word": BPE restricted to each word then gives the
/// same result as over the whole text (merges inside a word keep their relative order). Splitting there lets words
/// be cached, which makes long prompts cheap.
/// </summary>
internal static class SpaceWordSplitter
{
    /// <summary>Whether splitting before each space that follows a non-space character preserves the BPE result.</summary>
    public static bool IsSafe(IEnumerable<string> mergeablePieces, char space) =>
        !mergeablePieces.Any(piece =>
        {
            for (int i = 1; i < piece.Length; i++)
            {
                if (piece[i] == space && piece[i - 1] != space)
                {
                    return true;
                }
            }
            return false;
        });

    /// <summary>Calls <paramref name="onWord"/> for each word: a run of spaces and the non-space text after it.</summary>
    public static void Split(ReadOnlySpan<char> text, char space, WordAction onWord)
    {
        int start = 0;
        for (int i = 1; i < text.Length; i++)
        {
            if (text[i] == space && text[i - 1] != space)
            {
                onWord(text[start..i]);
                start = i;
            }
        }
        if (start < text.Length)
        {
            onWord(text[start..]);
        }
    }

    public delegate void WordAction(ReadOnlySpan<char> word);
}
