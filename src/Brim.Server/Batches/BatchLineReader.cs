using System.Buffers;
using System.Text.Unicode;

namespace Brim.Server.Batches;

/// <summary>One line of a batch input file: its bytes (valid until the next read), or why it has none.</summary>
internal readonly record struct BatchInputLine(int Number, ReadOnlyMemory<byte> Text, long TooLongBytes, bool InvalidUtf8)
{
    public bool IsBlank => TooLongBytes == 0 && !InvalidUtf8 && Text.Span.Trim(" \t\r"u8).IsEmpty;
}

/// <summary>
/// Reads a JSONL file line by line (lines end at '\n'; a '\r' before it is dropped) holding at most
/// <c>maxLineBytes</c> of one line in memory. A longer line is skipped to its end and reported with its length, so one
/// oversized line costs a read of the file, not its size in memory, and becomes that line's error.
/// </summary>
internal sealed class BatchLineReader(Stream input, int maxLineBytes) : IDisposable
{
    private readonly byte[] _chunk = new byte[64 * 1024];
    private readonly ArrayBufferWriter<byte> _line = new(Math.Min(maxLineBytes, 64 * 1024));
    private int _start;
    private int _end;
    private int _number;
    private bool _eof;

    /// <summary>The next line, or false at the end of the file.</summary>
    public bool TryRead(out BatchInputLine line)
    {
        _line.ResetWrittenCount();
        long length = 0;
        while (true)
        {
            if (_start == _end)
            {
                if (_eof || (_end = input.Read(_chunk)) == 0)
                {
                    _eof = true;
                    _start = _end = 0;
                    if (length == 0)
                    {
                        line = default;
                        return false;
                    }

                    line = Finish(length); // a last line without a newline
                    return true;
                }

                _start = 0;
            }

            var available = _chunk.AsSpan(_start, _end - _start);
            var newline = available.IndexOf((byte)'\n');
            var part = newline < 0 ? available : available[..newline];
            length += part.Length;
            if (length <= maxLineBytes)
            {
                _line.Write(part);
            }

            _start += part.Length;
            if (newline >= 0)
            {
                _start++;
                line = Finish(length);
                return true;
            }
        }
    }

    private BatchInputLine Finish(long length)
    {
        _number++;
        if (length > maxLineBytes)
        {
            return new BatchInputLine(_number, default, length, false);
        }

        var text = _line.WrittenMemory;
        if (text.Span.EndsWith("\r"u8))
        {
            text = text[..^1];
        }

        return Utf8.IsValid(text.Span) ? new BatchInputLine(_number, text, 0, false) : new BatchInputLine(_number, default, 0, true);
    }

    public void Dispose() => input.Dispose();
}
