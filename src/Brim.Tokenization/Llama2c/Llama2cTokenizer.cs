using System.Buffers.Binary;
using System.Text;
using Brim.Tokenization.Bpe;
using Brim.Tokenization.SentencePiece;

namespace Brim.Tokenization.Llama2c;

/// <summary>
/// llama2.c's tokenizer.bin, encoded and decoded exactly as its run.c does: a " " dummy prefix (the vocabulary
/// stores spaces, not "▁"), characters looked up whole, unknown ones as byte tokens at id byte+3, then
/// best-score-first merges; decoding drops the leading space of the piece right after BOS.
/// </summary>
internal sealed class Llama2cTokenizer : TokenizerBase
{
    public const int UnknownId = 0;
    public const int BeginOfSequenceId = 1;
    public const int EndOfSequenceId = 2;
    private const int FirstByteTokenId = 3;

    private readonly string[] _pieces;
    private readonly byte[][] _pieceBytes;
    private readonly Dictionary<string, int> _idOfPiece;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idOfPieceBySpan;
    private readonly MergeTable _merges;
    private readonly WordCache _wordCache = new();
    private readonly bool _canSplitWords;

    private Llama2cTokenizer(string[] pieces, byte[][] pieceBytes, float[] scores)
        : base([])
    {
        _pieces = pieces;
        _pieceBytes = pieceBytes;
        _idOfPiece = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            _idOfPiece.TryAdd(pieces[id], id); // run.c's binary search finds one of equal strings; the first is as good
        }
        _idOfPieceBySpan = _idOfPiece.GetAlternateLookup<ReadOnlySpan<char>>();
        // run.c merges any two adjacent pieces whose concatenation is in the vocabulary, by that piece's score.
        _merges = MergeTable.FromPieceScores(pieces, scores, _idOfPiece, _ => true);
        _canSplitWords = SpaceWordSplitter.IsSafe(pieces, ' ');
        BosTokenId = BeginOfSequenceId;
        EosTokenIds = [EndOfSequenceId];
        PrefixIds = [BeginOfSequenceId];
    }

    public override int VocabSize => _pieces.Length;

    /// <summary>Reads tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, bytes.</summary>
    /// <remarks>tokenizer.bin does not store the token count (the checkpoint does), so tokens are read to the end.</remarks>
    public static Llama2cTokenizer Read(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4)
        {
            throw new InvalidDataException("File is too short for a llama2.c tokenizer header.");
        }
        int maxTokenLength = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (maxTokenLength <= 0 || maxTokenLength > 1 << 16)
        {
            throw new InvalidDataException($"Implausible max_token_length {maxTokenLength}.");
        }
        var pieces = new List<string>();
        var bytes = new List<byte[]>();
        var scores = new List<float>();
        int position = 4;
        while (position < data.Length)
        {
            if (data.Length - position < 8)
            {
                throw new InvalidDataException($"Token {pieces.Count} is truncated.");
            }
            float score = BinaryPrimitives.ReadSingleLittleEndian(data[position..]);
            int length = BinaryPrimitives.ReadInt32LittleEndian(data[(position + 4)..]);
            position += 8;
            if (length < 0 || length > maxTokenLength)
            {
                throw new InvalidDataException($"Token {pieces.Count} has invalid length {length}.");
            }
            if (length > data.Length - position)
            {
                throw new InvalidDataException($"Token {pieces.Count} is truncated ({length} bytes, {data.Length - position} left).");
            }
            byte[] piece = data.Slice(position, length).ToArray();
            position += length;
            scores.Add(score);
            bytes.Add(piece);
            pieces.Add(Encoding.UTF8.GetString(piece));
        }
        if (pieces.Count < FirstByteTokenId + 256)
        {
            throw new InvalidDataException($"Only {pieces.Count} tokens; llama2.c needs <unk>, <s>, </s> and 256 byte tokens.");
        }
        return new Llama2cTokenizer(pieces.ToArray(), bytes.ToArray(), scores.ToArray());
    }

    public override int? TokenToId(string token) => _idOfPiece.TryGetValue(token, out int id) ? id : null;

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var bytes = new List<byte>(ids.Length * 4);
        int previous = -1;
        foreach (int id in ids)
        {
            CheckId(id);
            int after = previous;
            previous = id;
            if (skipSpecialTokens && IsSpecial(id))
            {
                continue;
            }
            ReadOnlySpan<byte> piece = _pieceBytes[id];
            if (after == BeginOfSequenceId && piece.Length > 0 && piece[0] == (byte)' ')
            {
                piece = piece[1..]; // run.c: "following BOS token, sentencepiece decoder strips any leading whitespace"
            }
            if (SentencePieceBpeTokenizer.TryParseByteToken(_pieces[id], out byte raw))
            {
                bytes.Add(raw);
            }
            else
            {
                bytes.AddRange(piece);
            }
        }
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    protected override bool IsControlPiece(int id) => id is UnknownId or BeginOfSequenceId or EndOfSequenceId;

    protected override void EncodeSegment(string segment, int offset, List<int> ids)
    {
        if (segment.Length == 0)
        {
            return;
        }
        if (!_idOfPiece.ContainsKey(" "))
        {
            throw new InvalidOperationException("The llama2.c vocabulary has no \" \" piece for the dummy prefix.");
        }
        // run.c adds the dummy prefix whenever the text is not empty.
        string text = " " + segment;
        if (_canSplitWords)
        {
            SpaceWordSplitter.Split(text, ' ', word => ids.AddRange(_wordCache.GetOrAdd(word, MergeWord)));
        }
        else
        {
            ids.AddRange(MergeWord(text));
        }
    }

    private int[] MergeWord(ReadOnlySpan<char> word)
    {
        var symbols = new List<int>(word.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < word.Length;)
        {
            int length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            ReadOnlySpan<char> character = word.Slice(i, length);
            i += length;
            if (_idOfPieceBySpan.TryGetValue(character, out int id))
            {
                symbols.Add(id);
                continue;
            }
            int count = Encoding.UTF8.GetBytes(character, utf8);
            for (int b = 0; b < count; b++)
            {
                symbols.Add(utf8[b] + FirstByteTokenId);
            }
        }
        return BpeMerger.Merge(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols), _merges);
    }
}
