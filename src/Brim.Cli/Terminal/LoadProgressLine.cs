using Brim.Models;

namespace Brim.Cli.Terminal;

/// <summary>
/// Model loading drawn on one terminal line, rewritten in place with \r at most ten times a second (and always when a
/// phase starts or completes), and blanked when loading ends so the startup lines that follow begin on a clean line.
/// Only for a terminal: <see cref="ForStderr"/> gives none when stderr is redirected (logs, CI, tests), which then get
/// no progress at all.
/// </summary>
internal sealed class LoadProgressLine(TextWriter writer, Func<long>? milliseconds = null) : IProgress<LoadProgress>
{
    private const long RedrawMilliseconds = 100;

    private readonly Func<long> _milliseconds = milliseconds ?? (() => Environment.TickCount64);
    private readonly Lock _lock = new();
    private LoadPhase? _phase;
    private long _drawnAt;
    private int _width;

    /// <summary>A line on stderr when it is a terminal; null otherwise.</summary>
    public static IProgress<LoadProgress>? ForStderr() => Console.IsErrorRedirected ? null : new LoadProgressLine(Console.Error);

    public void Report(LoadProgress value)
    {
        lock (_lock)
        {
            if (value.Phase == LoadPhase.Finished)
            {
                Clear();
                return;
            }

            var now = _milliseconds();
            var milestone = value.Phase != _phase || (value.Total > 0 && value.Done >= value.Total);
            if (!milestone && now - _drawnAt < RedrawMilliseconds)
            {
                return;
            }

            var text = LoadProgressText.Format(value);
            writer.Write('\r' + text.PadRight(_width));
            writer.Flush();
            _width = text.Length;
            _phase = value.Phase;
            _drawnAt = now;
        }
    }

    private void Clear()
    {
        if (_width > 0)
        {
            writer.Write('\r' + new string(' ', _width) + '\r');
            writer.Flush();
        }

        _width = 0;
        _phase = null;
    }
}
