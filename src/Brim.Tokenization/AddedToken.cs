namespace Brim.Tokenization;

/// <summary>
/// A token matched verbatim in the input before the model runs (Hugging Face "added_tokens"). Special ones
/// (BOS, &lt;|im_end|&gt;, [INST]) are skipped when decoding with skipSpecialTokens.
/// </summary>
internal sealed record AddedToken(int Id, string Content, bool IsSpecial, bool LStrip = false, bool RStrip = false);
