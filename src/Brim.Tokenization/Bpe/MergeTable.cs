namespace Brim.Tokenization.Bpe;

/// <summary>
/// Which adjacent symbol pairs may merge, into what, and with which priority (lower rank merges first).
/// Hugging Face BPE ranks pairs by their line in the merges list; SentencePiece and llama2.c rank them by the
/// score of the merged piece (higher score first), which <see cref="FromPieceScores"/> turns into a rank.
/// </summary>
internal sealed class MergeTable
{
    private readonly Dictionary<long, Merge> _merges;

    private MergeTable(Dictionary<long, Merge> merges) => _merges = merges;

    public readonly record struct Merge(float Rank, int MergedId);

    public int Count => _merges.Count;

    public bool TryGet(int leftId, int rightId, out Merge merge) => _merges.TryGetValue(Key(leftId, rightId), out merge);

    /// <summary>Pairs in priority order (merges.txt / tokenizer.json "merges"): the first pair has rank 0.</summary>
    public static MergeTable FromRankedPairs(IEnumerable<(int LeftId, int RightId, int MergedId)> pairsInRankOrder)
    {
        var merges = new Dictionary<long, Merge>();
        int rank = 0;
        foreach (var (left, right, merged) in pairsInRankOrder)
        {
            // A duplicate pair keeps its first (best) rank, as Hugging Face does.
            merges.TryAdd(Key(left, right), new Merge(rank, merged));
            rank++;
        }
        return new MergeTable(merges);
    }

    /// <summary>
    /// Every way to split a mergeable piece into two pieces of the vocabulary becomes a pair that merges into it,
    /// ranked by the piece's score (higher score = lower rank).
    /// </summary>
    public static MergeTable FromPieceScores(IReadOnlyList<string> pieces, IReadOnlyList<float> scores,
        IReadOnlyDictionary<string, int> idOfPiece, Func<int, bool> isMergeable)
    {
        var merges = new Dictionary<long, Merge>();
        for (int id = 0; id < pieces.Count; id++)
        {
            if (!isMergeable(id))
            {
                continue;
            }
            string piece = pieces[id];
            for (int split = 1; split < piece.Length; split++)
            {
                if (char.IsLowSurrogate(piece[split]))
                {
                    continue; // never split a character
                }
                if (idOfPiece.TryGetValue(piece[..split], out int left) && isMergeable(left)
                    && idOfPiece.TryGetValue(piece[split..], out int right) && isMergeable(right))
                {
                    merges.TryAdd(Key(left, right), new Merge(-scores[id], id));
                }
            }
        }
        return new MergeTable(merges);
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}
