using System.Text;
using Brim.Tokenization.Bpe;

namespace Brim.Tokenization.ByteLevel;

/// <summary>
/// Byte-level BPE (GPT-2, Llama 3, Qwen2): the text is cut into words by a regex, each word's UTF-8 bytes become
/// byte symbols, and merges combine them. Words repeat a lot in real text, so each word's ids are cached.
/// </summary>
internal sealed class ByteLevelBpeTokenizer : TokenizerBase
{
    private readonly Dictionary<string, int> _idOfToken;
    private readonly byte[]?[] _bytesOfId;
    private readonly int[] _idOfByte = new int[256];
    private readonly MergeTable _merges;
    private readonly PreTokenizerPattern? _pattern;
    private readonly ByteLevelOptions _options;
    private readonly WordCache _wordCache = new();

    public ByteLevelBpeTokenizer(IReadOnlyDictionary<string, int> vocab, IEnumerable<(string Left, string Right)> merges,
        IReadOnlyList<AddedToken> addedTokens, ByteLevelOptions options)
        : base(addedTokens)
    {
        _options = options;
        _pattern = options.SplitPattern is null ? null : new PreTokenizerPattern(options.SplitPattern);
        _idOfToken = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        foreach (AddedToken token in addedTokens)
        {
            _idOfToken.TryAdd(token.Content, token.Id);
        }
        VocabSize = _idOfToken.Count == 0 ? 0 : _idOfToken.Values.Max() + 1;

        _bytesOfId = new byte[VocabSize][];
        foreach (var (token, id) in vocab)
        {
            _bytesOfId[id] = TokenBytes(token);
        }
        foreach (AddedToken token in addedTokens)
        {
            _bytesOfId[token.Id] = Encoding.UTF8.GetBytes(token.Content); // added tokens are plain text, not byte-mapped
        }

        for (int b = 0; b < 256; b++)
        {
            if (!vocab.TryGetValue(ByteLevelAlphabet.CharOfByte[b].ToString(), out _idOfByte[b]))
            {
                throw new InvalidDataException($"The vocabulary lacks the byte-level symbol for byte 0x{b:X2}.");
            }
        }
        _merges = MergeTable.FromRankedPairs(merges.Select(m => (IdOf(m.Left), IdOf(m.Right), IdOf(m.Left + m.Right))));

        int IdOf(string token) => vocab.TryGetValue(token, out int id)
            ? id
            : throw new InvalidDataException($"Merge refers to '{token}', which is not in the vocabulary.");
    }

    public override int VocabSize { get; }

    public override int? TokenToId(string token) => _idOfToken.TryGetValue(token, out int id) ? id : null;

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            CheckId(id);
            if (skipSpecialTokens && IsSpecial(id))
            {
                continue;
            }
            if (_bytesOfId[id] is { } tokenBytes)
            {
                bytes.AddRange(tokenBytes);
            }
        }
        // Invalid UTF-8 becomes U+FFFD per maximal invalid subsequence, as Rust's from_utf8_lossy does.
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    protected override void EncodeSegment(string segment, int offset, List<int> ids)
    {
        if (_options.NormalizeNfc)
        {
            // Needs ICU: under InvariantGlobalization this leaves the text as it is (real text is almost always NFC).
            segment = segment.Normalize(NormalizationForm.FormC);
        }
        if (_options.AddPrefixSpace && offset == 0 && !segment.StartsWith(' '))
        {
            segment = " " + segment;
        }
        if (_pattern is null)
        {
            ids.AddRange(EncodeWord(segment));
            return;
        }
        _pattern.Split(segment, (start, length) => ids.AddRange(EncodeWord(segment.AsSpan(start, length))));
    }

    private int[] EncodeWord(ReadOnlySpan<char> word) => _wordCache.GetOrAdd(word, MergeWord);

    private int[] MergeWord(ReadOnlySpan<char> word)
    {
        int byteCount = Encoding.UTF8.GetByteCount(word);
        Span<byte> bytes = byteCount <= 256 ? stackalloc byte[byteCount] : new byte[byteCount];
        Encoding.UTF8.GetBytes(word, bytes);
        if (_options.IgnoreMerges && _idOfToken.TryGetValue(MapBytes(bytes), out int whole))
        {
            return [whole]; // Llama 3: a word that is itself a token is not re-merged
        }
        Span<int> symbols = byteCount <= 256 ? stackalloc int[byteCount] : new int[byteCount];
        for (int i = 0; i < byteCount; i++)
        {
            symbols[i] = _idOfByte[bytes[i]];
        }
        return BpeMerger.Merge(symbols, _merges);
    }

    private static string MapBytes(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                chars[i] = ByteLevelAlphabet.CharOfByte[source[i]];
            }
        });
    }

    private static byte[] TokenBytes(string token)
    {
        var bytes = new List<byte>(token.Length);
        foreach (char c in token)
        {
            if (ByteLevelAlphabet.TryGetByte(c, out byte b))
            {
                bytes.Add(b);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString())); // not byte-mapped: keep the character itself
            }
        }
        return bytes.ToArray();
    }
}
