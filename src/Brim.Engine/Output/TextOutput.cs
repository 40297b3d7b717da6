using System.Text;
using Brim.Tokenization;

namespace Brim.Engine.Output;

/// <summary>
/// Turns a sequence's tokens into the text deltas a client sees, and watches for stop strings. Text that could still be
/// the start of a stop string is held back until it is known not to be one, so a client never sees part of a stop
/// string; when a stop string appears the text ends right before it (OpenAI semantics).
/// </summary>
internal sealed class TextOutput
{
    private readonly IncrementalDetokenizer _detokenizer;
    private readonly IReadOnlyList<string> _stops;
    private readonly int _hold;
    private readonly StringBuilder _pending = new();

    public TextOutput(ITokenizer tokenizer, IReadOnlyList<int> prompt, IReadOnlyList<string> stops)
    {
        _detokenizer = new IncrementalDetokenizer(tokenizer, prompt is int[] array ? array : prompt.ToArray());
        _stops = stops;
        _hold = stops.Count == 0 ? 0 : stops.Max(s => s.Length) - 1;
    }

    /// <summary>Adds a token and returns the text that is now safe to emit; sets <paramref name="stopped"/> on a stop string.</summary>
    public string Push(int token, out bool stopped)
    {
        _pending.Append(_detokenizer.Add(token));
        stopped = false;
        if (_stops.Count == 0)
        {
            return Drain(_pending.Length);
        }

        var text = _pending.ToString();
        var stopAt = -1;
        foreach (var stop in _stops)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (stopAt < 0 || at < stopAt))
            {
                stopAt = at;
            }
        }

        if (stopAt >= 0)
        {
            stopped = true;
            _pending.Clear();
            return text[..stopAt];
        }

        return Drain(Math.Max(0, _pending.Length - _hold));
    }

    /// <summary>Releases the held-back text when the sequence ends for another reason than a stop string.</summary>
    public string Flush()
    {
        _pending.Append(_detokenizer.Flush());
        return Drain(_pending.Length);
    }

    private string Drain(int count)
    {
        if (count == 0)
        {
            return string.Empty;
        }

        // Never split a surrogate pair at the hold-back boundary.
        if (count < _pending.Length && char.IsHighSurrogate(_pending[count - 1]))
        {
            count--;
        }

        var s = _pending.ToString(0, count);
        _pending.Remove(0, count);
        return s;
    }
}
