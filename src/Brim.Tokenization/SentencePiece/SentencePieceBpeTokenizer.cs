using System.Text;
using Brim.Tokenization.Bpe;

namespace Brim.Tokenization.SentencePiece;

/// <summary>
/// SentencePiece-style BPE (Llama 2, TinyLlama, Mistral): spaces become "▁", a dummy "▁" prefix marks the start,
/// BPE runs over characters of the whole segment (cut into cached "▁word"s where <see cref="SpaceWordSplitter"/>
/// proves that changes nothing), and characters outside the vocabulary fall back to &lt;0xXX&gt; byte tokens. Decoding mirrors Hugging Face's decoder chain: "▁"→" ", byte runs → UTF-8, strip one
/// leading space.
/// </summary>
internal sealed class SentencePieceBpeTokenizer : TokenizerBase
{
    public const char SpaceMarker = '\u2581';

    private readonly string[] _pieces;
    private readonly Dictionary<string, int> _idOfPiece;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idOfPieceBySpan;
    private readonly int[] _idOfByte = new int[256];
    private readonly short[] _byteOfId;
    private readonly MergeTable _merges;
    private readonly SentencePieceOptions _options;
    private readonly WordCache _wordCache = new();
    private readonly bool _canSplitWords;

    /// <param name="pieces">Token text by id (with "▁" for spaces and "&lt;0xXX&gt;" for byte tokens).</param>
    public SentencePieceBpeTokenizer(string[] pieces, MergeTable merges, IReadOnlyList<AddedToken> addedTokens,
        SentencePieceOptions options)
        : base(addedTokens)
    {
        _pieces = pieces;
        _merges = merges;
        _options = options;
        _idOfPiece = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            _idOfPiece.TryAdd(pieces[id], id);
        }
        _idOfPieceBySpan = _idOfPiece.GetAlternateLookup<ReadOnlySpan<char>>();
        _canSplitWords = SpaceWordSplitter.IsSafe(pieces, SpaceMarker);

        _byteOfId = new short[pieces.Length];
        Array.Fill(_byteOfId, (short)-1);
        Array.Fill(_idOfByte, -1);
        for (int id = 0; id < pieces.Length; id++)
        {
            if (TryParseByteToken(pieces[id], out byte value))
            {
                _byteOfId[id] = value;
                _idOfByte[value] = id;
            }
        }
        if (options.ByteFallback && _idOfByte.Contains(-1))
        {
            throw new InvalidDataException("byte_fallback is on but the vocabulary lacks some <0xXX> byte tokens.");
        }
    }

    public override int VocabSize => _pieces.Length;

    public override int? TokenToId(string token) => _idOfPiece.TryGetValue(token, out int id) ? id : null;

    /// <summary>"&lt;0x0A&gt;" → 0x0A: the byte-fallback token form shared by SentencePiece, HF and llama2.c.</summary>
    public static bool TryParseByteToken(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var text = new StringBuilder(ids.Length * 4);
        var pendingBytes = new List<byte>();
        foreach (int id in ids)
        {
            CheckId(id);
            if (skipSpecialTokens && IsSpecial(id))
            {
                continue;
            }
            if (_byteOfId[id] >= 0)
            {
                pendingBytes.Add((byte)_byteOfId[id]);
                continue;
            }
            FlushBytes(text, pendingBytes);
            string piece = TryGetAddedToken(id, out AddedToken added) ? added.Content : _pieces[id];
            text.Append(piece.Replace(SpaceMarker, ' '));
        }
        FlushBytes(text, pendingBytes);
        // The decoder's Strip(start=1): the dummy prefix of the first word is not part of the text.
        return text.Length > 0 && text[0] == ' ' ? text.ToString(1, text.Length - 1) : text.ToString();
    }

    protected override void EncodeSegment(string segment, int offset, List<int> ids)
    {
        if (_options.RemoveExtraWhitespace)
        {
            segment = CollapseSpaces(segment);
        }
        if (segment.Length == 0)
        {
            return;
        }
        bool wantsPrefix = _options.PrefixScope == DummyPrefixScope.EverySegment
            || (_options.PrefixScope == DummyPrefixScope.FirstSegment && offset == 0);
        if (wantsPrefix && !(_options.PrefixOnlyIfNoLeadingSpace && segment[0] is ' ' or SpaceMarker))
        {
            segment = " " + segment;
        }
        segment = segment.Replace(' ', SpaceMarker);
        if (_canSplitWords)
        {
            SpaceWordSplitter.Split(segment, SpaceMarker, word => ids.AddRange(_wordCache.GetOrAdd(word, MergeWord)));
        }
        else
        {
            ids.AddRange(MergeWord(segment));
        }
    }

    private int[] MergeWord(ReadOnlySpan<char> word) => BpeMerger.Merge(InitialSymbols(word), _merges);

    /// <summary>One symbol per character; unknown characters become byte tokens or the unknown token.</summary>
    private int[] InitialSymbols(ReadOnlySpan<char> text)
    {
        var symbols = new List<int>(text.Length);
        bool previousWasUnknown = false;
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length;)
        {
            int length = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            ReadOnlySpan<char> character = text.Slice(i, length);
            i += length;
            if (_idOfPieceBySpan.TryGetValue(character, out int id) && !IsSpecial(id))
            {
                symbols.Add(id);
                previousWasUnknown = false;
            }
            else if (_options.ByteFallback)
            {
                int count = Encoding.UTF8.GetBytes(character, utf8);
                for (int b = 0; b < count; b++)
                {
                    symbols.Add(_idOfByte[utf8[b]]);
                }
                previousWasUnknown = false;
            }
            else if (_options.UnknownId is int unknown)
            {
                if (!(previousWasUnknown && _options.FuseUnknown))
                {
                    symbols.Add(unknown);
                }
                previousWasUnknown = true;
            }
            else
            {
                throw new ArgumentException($"Character '{character}' has no token and the tokenizer has no unknown token.");
            }
        }
        return symbols.ToArray();
    }

    private static string CollapseSpaces(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (char c in text.Trim(' '))
        {
            if (c != ' ' || builder.Length == 0 || builder[^1] != ' ')
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    private static void FlushBytes(StringBuilder text, List<byte> bytes)
    {
        if (bytes.Count == 0)
        {
            return;
        }
        // HF ByteFallback: a run that is not valid UTF-8 becomes one U+FFFD per byte.
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        if (System.Text.Unicode.Utf8.IsValid(span))
        {
            text.Append(Encoding.UTF8.GetString(span));
        }
        else
        {
            text.Append('\uFFFD', bytes.Count);
        }
        bytes.Clear();
    }
}
