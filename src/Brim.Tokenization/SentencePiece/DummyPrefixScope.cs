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
