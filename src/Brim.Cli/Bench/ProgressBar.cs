namespace Brim.Cli.Bench;

/// <summary>A one-line progress bar on stderr, redrawn at most ten times a second; silent when stderr is redirected.</summary>
internal sealed class ProgressBar(string label, int total)
{
    private readonly bool _enabled = !Console.IsErrorRedirected;
    private long _lastDraw;

    public void Report(int done)
    {
        var now = Environment.TickCount64;
        if (!_enabled || (now - _lastDraw < 100 && done < total))
        {
            return;
        }

        _lastDraw = now;
        const int width = 30;
        var filled = total == 0 ? width : (int)((long)done * width / total);
        Console.Error.Write($"\r{label} [{new string('#', filled)}{new string('-', width - filled)}] {done}/{total}");
        if (done >= total)
        {
            Console.Error.WriteLine();
        }
    }
}
