using System.Globalization;
using System.Text;

namespace Brim.ChatTemplates.Jinja;

/// <summary>
/// Splits a template into tokens, applying whitespace control the way Hugging Face configures Jinja:
/// <c>trim_blocks</c> (the first newline after a block or comment tag is dropped), <c>lstrip_blocks</c> (spaces
/// and tabs before a block or comment tag that starts a line are dropped), <c>-</c> markers (all whitespace on
/// that side is dropped) and no <c>keep_trailing_newline</c> (one final newline of the template is dropped).
/// </summary>
internal sealed class Lexer
{
    private static readonly string[] Operators =
    [
        "**", "//", "==", "!=", "<=", ">=",
        "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|",
    ];

    private readonly string _source;
    private readonly LineMap _lines;
    private readonly List<Token> _tokens = [];
    private int _pos;

    // Whitespace control carried from the end of one tag to the text that follows it.
    private bool _stripLeadingWhitespace;
    private bool _dropLeadingNewline;

    private Lexer(string source)
    {
        // keep_trailing_newline=False: a single trailing newline is not part of the output.
        _source = source.EndsWith('\n') ? source[..^1] : source;
        _lines = new LineMap(source);
    }

    public static List<Token> Tokenize(string source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        while (_pos < _source.Length)
        {
            int tagStart = FindNextTag(_pos);
            int textEnd = tagStart < 0 ? _source.Length : tagStart;
            string text = ApplyLeadingWhitespaceControl(_source[_pos..textEnd]);
            int textStart = _pos;
            _pos = textEnd;
            if (tagStart < 0)
            {
                AddText(text, textStart);
                break;
            }

            char kind = _source[tagStart + 1];
            char marker = tagStart + 2 < _source.Length ? _source[tagStart + 2] : '\0';
            if (marker == '-')
            {
                text = text.TrimEnd();
            }
            else if (kind != '{' && marker != '+')
            {
                text = text[..^LineIndentBefore(tagStart, textStart, text.Length)];
            }

            AddText(text, textStart);
            _pos = tagStart + 2 + (marker is '-' or '+' ? 1 : 0);
            if (kind == '#')
            {
                SkipComment(tagStart);
            }
            else
            {
                LexTag(tagStart, kind == '{');
            }
        }

        _tokens.Add(new Token(TokenKind.EndOfTemplate, "", _lines.At(_source.Length)));
    }

    private int FindNextTag(int from)
    {
        for (int i = _source.IndexOf('{', from); i >= 0 && i + 1 < _source.Length; i = _source.IndexOf('{', i + 1))
        {
            if (_source[i + 1] is '{' or '%' or '#')
            {
                return i;
            }
        }

        return -1;
    }

    private string ApplyLeadingWhitespaceControl(string text)
    {
        if (_stripLeadingWhitespace)
        {
            text = text.TrimStart();
        }
        else if (_dropLeadingNewline && text.StartsWith('\n'))
        {
            text = text[1..];
        }

        _stripLeadingWhitespace = false;
        _dropLeadingNewline = false;
        return text;
    }

    /// <summary>
    /// lstrip_blocks: the number of trailing spaces/tabs of the text to drop, when they are all that stands between
    /// the start of the tag's line and the tag.
    /// </summary>
    private int LineIndentBefore(int tagStart, int textStart, int textLength)
    {
        int i = tagStart;
        while (i > textStart && _source[i - 1] is ' ' or '\t')
        {
            i--;
        }

        bool atLineStart = i == 0 || _source[i - 1] == '\n';
        return atLineStart ? Math.Min(tagStart - i, textLength) : 0;
    }

    private void AddText(string text, int offset)
    {
        if (text.Length > 0)
        {
            _tokens.Add(new Token(TokenKind.Text, text, _lines.At(offset)));
        }
    }

    private void SkipComment(int tagStart)
    {
        int end = _source.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (end < 0)
        {
            throw ChatTemplateException.At(_lines.At(tagStart), "Syntax error: comment is never closed with '#}'");
        }

        bool dash = end > _pos && _source[end - 1] == '-';
        _pos = end + 2;
        _stripLeadingWhitespace = dash;
        _dropLeadingNewline = !dash;
    }

    private void LexTag(int tagStart, bool isVariable)
    {
        _tokens.Add(new Token(isVariable ? TokenKind.VariableBegin : TokenKind.BlockBegin, "", _lines.At(tagStart)));
        string close = isVariable ? "}}" : "%}";
        int depth = 0;
        while (true)
        {
            while (_pos < _source.Length && char.IsWhiteSpace(_source[_pos]))
            {
                _pos++;
            }

            if (_pos >= _source.Length)
            {
                throw ChatTemplateException.At(
                    _lines.At(tagStart),
                    $"Syntax error: tag opened here is never closed with '{close}'");
            }

            if (depth == 0 && TryCloseTag(close, isVariable))
            {
                return;
            }

            char c = _source[_pos];
            if (c is '\'' or '"')
            {
                LexString(c);
            }
            else if (char.IsAsciiDigit(c))
            {
                LexNumber();
            }
            else if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = _pos;
                while (_pos < _source.Length && (char.IsAsciiLetterOrDigit(_source[_pos]) || _source[_pos] == '_'))
                {
                    _pos++;
                }

                _tokens.Add(new Token(TokenKind.Name, _source[start.._pos], _lines.At(start)));
            }
            else
            {
                depth += LexOperator();
            }
        }
    }

    private bool TryCloseTag(string close, bool isVariable)
    {
        bool dash = _source[_pos] == '-' && string.CompareOrdinal(_source, _pos + 1, close, 0, 2) == 0;
        if (!dash && string.CompareOrdinal(_source, _pos, close, 0, 2) != 0)
        {
            return false;
        }

        _tokens.Add(new Token(isVariable ? TokenKind.VariableEnd : TokenKind.BlockEnd, "", _lines.At(_pos)));
        _pos += dash ? 3 : 2;
        _stripLeadingWhitespace = dash;
        _dropLeadingNewline = !dash && !isVariable; // trim_blocks affects block tags only
        return true;
    }

    private int LexOperator()
    {
        foreach (string op in Operators)
        {
            if (string.CompareOrdinal(_source, _pos, op, 0, op.Length) == 0)
            {
                _tokens.Add(new Token(TokenKind.Operator, op, _lines.At(_pos)));
                _pos += op.Length;
                return op switch
                {
                    "(" or "[" or "{" => 1,
                    ")" or "]" or "}" => -1,
                    _ => 0,
                };
            }
        }

        throw ChatTemplateException.At(_lines.At(_pos), $"Syntax error: unexpected character '{_source[_pos]}'");
    }

    private void LexNumber()
    {
        int start = _pos;
        SkipDigits();
        bool isFloat = false;
        bool afterDot = _tokens.Count > 0 && _tokens[^1].IsOperator(".");
        if (!afterDot && _pos + 1 < _source.Length && _source[_pos] == '.' && char.IsAsciiDigit(_source[_pos + 1]))
        {
            _pos++;
            SkipDigits();
            isFloat = true;
        }

        if (_pos < _source.Length && _source[_pos] is 'e' or 'E')
        {
            int save = _pos++;
            if (_pos < _source.Length && _source[_pos] is '+' or '-')
            {
                _pos++;
            }

            if (_pos < _source.Length && char.IsAsciiDigit(_source[_pos]))
            {
                SkipDigits();
                isFloat = true;
            }
            else
            {
                _pos = save;
            }
        }

        string text = _source[start.._pos].Replace("_", "", StringComparison.Ordinal);
        _tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, text, _lines.At(start)));
    }

    private void SkipDigits()
    {
        while (_pos < _source.Length && (char.IsAsciiDigit(_source[_pos]) || _source[_pos] == '_'))
        {
            _pos++;
        }
    }

    private void LexString(char quote)
    {
        int start = _pos++;
        var value = new StringBuilder();
        while (true)
        {
            if (_pos >= _source.Length)
            {
                throw ChatTemplateException.At(_lines.At(start), "Syntax error: string literal is never closed");
            }

            char c = _source[_pos++];
            if (c == quote)
            {
                break;
            }

            if (c != '\\' || _pos >= _source.Length)
            {
                value.Append(c);
                continue;
            }

            char escaped = _source[_pos++];
            switch (escaped)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'v': value.Append('\v'); break;
                case '0': value.Append('\0'); break;
                case '\\': value.Append('\\'); break;
                case '\'': value.Append('\''); break;
                case '"': value.Append('"'); break;
                case '\n': break; // a backslash-newline continues the literal on the next line
                case 'x': value.Append(ReadHexEscape(2, start)); break;
                case 'u': value.Append(ReadHexEscape(4, start)); break;
                case 'U': value.Append(ReadHexEscape(8, start)); break;
                default:
                    // Python keeps unknown escapes as written.
                    value.Append('\\').Append(escaped);
                    break;
            }
        }

        _tokens.Add(new Token(TokenKind.String, value.ToString(), _lines.At(start)));
    }

    private string ReadHexEscape(int digits, int literalStart)
    {
        if (_pos + digits > _source.Length
            || !int.TryParse(_source.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code)
            || code > 0x10FFFF)
        {
            throw ChatTemplateException.At(_lines.At(literalStart), "Syntax error: invalid escape sequence in string literal");
        }

        _pos += digits;
        return char.ConvertFromUtf32(code);
    }
}
