namespace Brim.Tokenization.SentencePiece;

/// <summary>Where the "▁" dummy prefix goes (HF Prepend normalizer, Metaspace prepend_scheme, SentencePiece add_dummy_prefix).</summary>
internal enum DummyPrefixScope
{
    None,

    /// <summary>Only the segment at the very start of the input (Metaspace "first"; SentencePiece with legacy=false).</summary>
    FirstSegment,

    /// <summary>Every text segment between added tokens (Prepend normalizer; Metaspace "always").</summary>
    EverySegment,
}

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
