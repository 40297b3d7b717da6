namespace Brim.Tokenization;

/// <summary>
/// Splits text into plain segments and added tokens, leftmost match first and the longest token at that position
/// (Hugging Face uses a leftmost-longest Aho-Corasick automaton; a per-first-character candidate list, sorted
/// longest-first, gives the same answer for the few dozen tokens real models have).
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>A segment: either text[Start..Start+Length] to tokenize, or an added token (Token != null).</summary>
    public readonly record struct Segment(int Start, int Length, AddedToken? Token);

    public List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        int textStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            AddedToken? match = MatchAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }
            int matchStart = i;
            int matchEnd = i + match.Content.Length;
            if (match.LStrip)
            {
                while (matchStart > textStart && char.IsWhiteSpace(text[matchStart - 1]))
                {
                    matchStart--;
                }
            }
            if (match.RStrip)
            {
                while (matchEnd < text.Length && char.IsWhiteSpace(text[matchEnd]))
                {
                    matchEnd++;
                }
            }
            if (matchStart > textStart)
            {
                segments.Add(new Segment(textStart, matchStart - textStart, null));
            }
            segments.Add(new Segment(matchStart, matchEnd - matchStart, match));
            textStart = i = matchEnd;
        }
        if (textStart < text.Length)
        {
            segments.Add(new Segment(textStart, text.Length - textStart, null));
        }
        return segments;
    }

    private AddedToken? MatchAt(string text, int index)
    {
        if (!_byFirstChar.TryGetValue(text[index], out AddedToken[]? candidates))
        {
            return null;
        }
        ReadOnlySpan<char> rest = text.AsSpan(index);
        foreach (AddedToken candidate in candidates)
        {
            if (rest.StartsWith(candidate.Content, StringComparison.Ordinal))
            {
                return candidate;
            }
        }
        return null;
    }
}
