namespace Brim.Tokenization.ByteLevel;

/// <summary>How a byte-level BPE tokenizer pre-processes text (from tokenizer.json or the tokenizer class).</summary>
/// <param name="SplitPattern">Pre-tokenizer regex; null when the pre-tokenizer does not split.</param>
/// <param name="AddPrefixSpace">ByteLevel add_prefix_space: a space is added before the first word.</param>
/// <param name="IgnoreMerges">BPE ignore_merges: a word found whole in the vocabulary is one token.</param>
/// <param name="NormalizeNfc">NFC normalizer (Qwen2).</param>
internal sealed record ByteLevelOptions(string? SplitPattern, bool AddPrefixSpace, bool IgnoreMerges, bool NormalizeNfc);
