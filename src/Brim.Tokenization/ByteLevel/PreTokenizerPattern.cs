using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Brim.Tokenization.ByteLevel;

/// <summary>
/// The regex that cuts text into words before byte-level BPE. Hugging Face runs these patterns with Oniguruma on
/// code points; .NET's Regex works on UTF-16 units, where \p{L} never matches half of a surrogate pair. So the
/// pattern runs on a proxy string of the same length in which each astral character (emoji, CJK extension B)
/// becomes two BMP characters of its own class: letters stay letters, everything else becomes a symbol.
/// Known gap: astral digits (e.g. U+1D7CE) are treated as symbols, not \p{N}.
/// </summary>
internal sealed class PreTokenizerPattern
{
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public const string Llama3 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public const string Qwen2 =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const char AstralLetterProxy = '\u4E00'; // CJK ideograph: \p{Lo}
    private const char AstralOtherProxy = '\u00A9';  // copyright sign: \p{So}

    private readonly Regex _regex;

    public PreTokenizerPattern(string pattern)
    {
        Pattern = pattern;
        _regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    public string Pattern { get; }

    /// <summary>Calls <paramref name="onWord"/> with (start, length) of each word, in order, covering all of the text.</summary>
    public void Split(string text, Action<int, int> onWord)
    {
        string subject = HasSurrogates(text) ? BuildProxy(text) : text;
        int covered = 0;
        foreach (ValueMatch match in _regex.EnumerateMatches(subject))
        {
            if (match.Length == 0)
            {
                continue;
            }
            if (match.Index > covered)
            {
                onWord(covered, match.Index - covered); // Split "Isolated": unmatched gaps are words too
            }
            onWord(match.Index, match.Length);
            covered = match.Index + match.Length;
        }
        if (covered < text.Length)
        {
            onWord(covered, text.Length - covered);
        }
    }

    private static bool HasSurrogates(string text)
    {
        foreach (char c in text)
        {
            if (char.IsSurrogate(c))
            {
                return true;
            }
        }
        return false;
    }

    private static string BuildProxy(string text)
    {
        var proxy = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out Rune rune, out int used) != OperationStatus.Done || used == 1)
            {
                proxy.Append(char.IsSurrogate(text[i]) ? AstralOtherProxy : text[i]);
                i++;
                continue;
            }
            char stand = IsLetter(Rune.GetUnicodeCategory(rune)) ? AstralLetterProxy : AstralOtherProxy;
            proxy.Append(stand, 2);
            i += 2;
        }
        return proxy.ToString();
    }

    private static bool IsLetter(UnicodeCategory category) => category is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter
        or UnicodeCategory.OtherLetter;
}
