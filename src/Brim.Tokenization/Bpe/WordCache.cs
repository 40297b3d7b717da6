using System.Collections.Concurrent;

namespace Brim.Tokenization.Bpe;

/// <summary>
/// Ids of words already merged. Real text repeats words constantly, so most words skip BPE entirely; lookups take a
/// span, so a hit allocates nothing. Bounded so a long-running server cannot grow it without limit.
/// </summary>
internal sealed class WordCache
{
    private const int MaxWords = 100_000;

    private readonly ConcurrentDictionary<string, int[]> _ids = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _idsBySpan;

    public WordCache() => _idsBySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();

    public delegate int[] WordEncoder(ReadOnlySpan<char> word);

    public int[] GetOrAdd(ReadOnlySpan<char> word, WordEncoder encode)
    {
        if (_idsBySpan.TryGetValue(word, out int[]? cached))
        {
            return cached;
        }
        int[] ids = encode(word);
        if (_ids.Count >= MaxWords)
        {
            _ids.Clear(); // hot words come back within a few requests
        }
        _idsBySpan.TryAdd(word, ids);
        return ids;
    }
}
