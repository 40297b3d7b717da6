namespace Brim.Tokenization.SentencePiece;

/// <summary>How SentencePiece-style BPE prepares text: dummy prefix, whitespace, unknown characters.</summary>
/// <param name="PrefixScope">Which segments get the dummy prefix.</param>
/// <param name="PrefixOnlyIfNoLeadingSpace">Metaspace adds no prefix to a segment that already starts with a space.</param>
/// <param name="RemoveExtraWhitespace">SentencePiece remove_extra_whitespaces: trim and collapse runs of spaces.</param>
/// <param name="UnknownId">Id for characters neither in the vocabulary nor byte-encodable; null if none.</param>
/// <param name="FuseUnknown">Consecutive unknown characters become one unknown token.</param>
/// <param name="ByteFallback">Unknown characters become their UTF-8 bytes as &lt;0xXX&gt; tokens.</param>
internal sealed record SentencePieceOptions(
    DummyPrefixScope PrefixScope,
    bool PrefixOnlyIfNoLeadingSpace,
    bool RemoveExtraWhitespace,
    int? UnknownId,
    bool FuseUnknown,
    bool ByteFallback);
