namespace Brim.Tokenization;

/// <summary>
/// Turns a stream of generated token ids (one sequence) into text deltas that are safe to show: a delta never ends
/// inside a UTF-8 character, even when byte-fallback or byte-level tokens split an emoji across several tokens.
/// Uses vLLM's two-offset window: only the last few tokens are decoded per step, and a delta is the text of
/// [prefix..end) minus the text of [prefix..read), so context-dependent rules (SentencePiece drops the leading space
/// of the first word; llama2.c after BOS) behave as in a full decode. Special tokens are skipped.
/// Not thread-safe: one instance per sequence.
/// </summary>
public sealed class IncrementalDetokenizer
{
    /// <summary>Tokens of the prompt kept as left context so the first output token decodes as it would in context.</summary>
    private const int PromptContextTokens = 5;

    private const char Replacement = '\uFFFD';

    private readonly ITokenizer _tokenizer;
    private readonly List<int> _ids = [];
    private int _prefixOffset;
    private int _readOffset;

    /// <param name="promptIds">The prompt, if any: output text is then "text of prompt + output minus text of prompt".</param>
    public IncrementalDetokenizer(ITokenizer tokenizer, ReadOnlySpan<int> promptIds = default)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        int start = Math.Max(0, promptIds.Length - PromptContextTokens);
        _ids.AddRange(promptIds[start..]);
        _prefixOffset = 0;
        _readOffset = _ids.Count;
    }

    /// <summary>Adds one generated id; returns the text that became complete (often empty while a character is split).</summary>
    public string Add(int tokenId)
    {
        _ids.Add(tokenId);
        ReadOnlySpan<int> ids = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids);
        string prefixText = _tokenizer.Decode(ids[_prefixOffset.._readOffset]);
        string newText = _tokenizer.Decode(ids[_prefixOffset..]);
        if (newText.Length <= prefixText.Length || newText[^1] == Replacement)
        {
            return ""; // nothing new, or the last character is still incomplete: wait for more tokens
        }
        string delta = newText[prefixText.Length..];
        _prefixOffset = _readOffset;
        _readOffset = _ids.Count;
        TrimConsumedIds();
        return delta;
    }

    /// <summary>At the end of the sequence: whatever is still held back (U+FFFD for a truly incomplete character).</summary>
    public string Flush()
    {
        ReadOnlySpan<int> ids = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids);
        string prefixText = _tokenizer.Decode(ids[_prefixOffset.._readOffset]);
        string newText = _tokenizer.Decode(ids[_prefixOffset..]);
        _prefixOffset = _readOffset;
        _readOffset = _ids.Count;
        return newText.Length > prefixText.Length ? newText[prefixText.Length..] : "";
    }

    /// <summary>Ids before the prefix offset are never decoded again; dropping them keeps memory O(window).</summary>
    private void TrimConsumedIds()
    {
        if (_prefixOffset < 64)
        {
            return;
        }
        _ids.RemoveRange(0, _prefixOffset);
        _readOffset -= _prefixOffset;
        _prefixOffset = 0;
    }
}
