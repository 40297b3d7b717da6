namespace Brim.Tokenization.Bpe;

/// <summary>
/// Applies a <see cref="MergeTable"/> to a symbol sequence: repeatedly merges the best-ranked adjacent pair, the
/// leftmost one on ties — what Hugging Face BPE, SentencePiece BPE and llama2.c's run.c all do. A heap of candidate
/// pairs makes it O(n log n), so a whole paragraph (SentencePiece has no pre-tokenizer) is still fast.
/// </summary>
internal static class BpeMerger
{
    private const int Removed = -1;

    public static int[] Merge(ReadOnlySpan<int> symbols, MergeTable table)
    {
        int n = symbols.Length;
        if (n < 2)
        {
            return symbols.ToArray();
        }

        int[] ids = symbols.ToArray();
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }

        // Candidates are validated when popped (lazy deletion): a merge elsewhere may have changed either side.
        var candidates = new PriorityQueue<Candidate, (float Rank, int Left)>();
        for (int i = 0; i + 1 < n; i++)
        {
            Offer(i);
        }

        int count = n;
        while (candidates.TryDequeue(out Candidate c, out _))
        {
            if (ids[c.Left] != c.LeftId || next[c.Left] != c.Right || ids[c.Right] != c.RightId)
            {
                continue;
            }
            ids[c.Left] = c.MergedId;
            ids[c.Right] = Removed;
            int after = next[c.Right];
            next[c.Left] = after;
            if (after >= 0)
            {
                prev[after] = c.Left;
            }
            count--;
            if (prev[c.Left] >= 0)
            {
                Offer(prev[c.Left]);
            }
            Offer(c.Left);
        }

        // Position 0 is always the left side of any merge it takes part in, so it is never removed.
        var result = new int[count];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i])
        {
            result[k++] = ids[i];
        }
        return result;

        void Offer(int left)
        {
            int right = next[left];
            if (right >= 0 && table.TryGet(ids[left], ids[right], out MergeTable.Merge merge))
            {
                candidates.Enqueue(new Candidate(left, right, ids[left], ids[right], merge.MergedId), (merge.Rank, left));
            }
        }
    }

    private readonly record struct Candidate(int Left, int Right, int LeftId, int RightId, int MergedId);
}
