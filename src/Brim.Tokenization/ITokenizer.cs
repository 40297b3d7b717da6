namespace Brim.Tokenization;

/// <summary>
/// Text to token ids and back for one model. Implementations: byte-level BPE (tokenizer.json, vocab.json + merges.txt),
/// SentencePiece (tokenizer.model, SentencePiece-style tokenizer.json), and llama2.c's tokenizer.bin.
/// Thread-safe: the server encodes on request threads while the engine decodes on its step loop.
/// </summary>
public interface ITokenizer
{
    int VocabSize { get; }

    int? BosTokenId { get; }

    /// <summary>End-of-sequence ids (Llama 3 has several: end_of_text, eom, eot).</summary>
    IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Encodes text; <paramref name="addSpecialTokens"/> adds what the model's post-processor adds (BOS for Llama).</summary>
    int[] Encode(string text, bool addSpecialTokens = true);

    /// <summary>Decodes ids to text; invalid UTF-8 becomes U+FFFD.</summary>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true);

    /// <summary>The id of a token string such as "&lt;|im_end|&gt;", or null.</summary>
    int? TokenToId(string token);

    /// <summary>Whether an id is a special/control token (skipped when decoding with skipSpecialTokens).</summary>
    bool IsSpecial(int id);
}
