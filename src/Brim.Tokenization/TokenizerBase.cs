namespace Brim.Tokenization;

/// <summary>
/// What every tokenizer shares: added tokens split out of the text before the model sees it, the ids the
/// post-processor wraps around an encoding, and the bos/eos ids the loader fills in from the model's config files.
/// Subclasses encode one plain-text segment and decode ids.
/// </summary>
internal abstract class TokenizerBase : ITokenizer
{
    private readonly AddedTokenSplitter _splitter;
    private readonly Dictionary<int, AddedToken> _addedById;

    protected TokenizerBase(IReadOnlyList<AddedToken> addedTokens)
    {
        AddedTokens = addedTokens;
        _splitter = new AddedTokenSplitter(addedTokens);
        _addedById = new Dictionary<int, AddedToken>();
        foreach (AddedToken token in addedTokens)
        {
            _addedById[token.Id] = token;
        }
    }

    public abstract int VocabSize { get; }

    public int? BosTokenId { get; internal set; }

    public IReadOnlyList<int> EosTokenIds { get; internal set; } = [];

    /// <summary>Ids added before the text when addSpecialTokens is true (TemplateProcessing's "single" prefix).</summary>
    internal int[] PrefixIds { get; set; } = [];

    /// <summary>Ids added after the text when addSpecialTokens is true.</summary>
    internal int[] SuffixIds { get; set; } = [];

    internal IReadOnlyList<AddedToken> AddedTokens { get; }

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens)
        {
            ids.AddRange(PrefixIds);
        }
        if (_splitter.IsEmpty)
        {
            EncodeSegment(text, 0, ids);
        }
        else
        {
            foreach (AddedTokenSplitter.Segment segment in _splitter.Split(text))
            {
                if (segment.Token is not null)
                {
                    ids.Add(segment.Token.Id);
                }
                else
                {
                    EncodeSegment(text.Substring(segment.Start, segment.Length), segment.Start, ids);
                }
            }
        }
        if (addSpecialTokens)
        {
            ids.AddRange(SuffixIds);
        }
        return ids.ToArray();
    }

    public abstract string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true);

    public abstract int? TokenToId(string token);

    public bool IsSpecial(int id) => _addedById.TryGetValue(id, out AddedToken? token) ? token.IsSpecial : IsControlPiece(id);

    /// <summary>Encodes plain text (no added tokens in it); <paramref name="offset"/> is where it starts in the input.</summary>
    protected abstract void EncodeSegment(string segment, int offset, List<int> ids);

    /// <summary>Special ids that are not added tokens (llama2.c's &lt;s&gt;, SentencePiece control pieces).</summary>
    protected virtual bool IsControlPiece(int id) => false;

    protected bool TryGetAddedToken(int id, out AddedToken token) => _addedById.TryGetValue(id, out token!);

    protected void CheckId(int id)
    {
        if ((uint)id >= (uint)VocabSize)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id is outside the vocabulary (size {VocabSize}).");
        }
    }
}
