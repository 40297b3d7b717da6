using System.Globalization;

namespace Brim.Server.Logging;

/// <summary>Durations as people read them in a log: "850µs", "12ms", "1.24s", "3m05s", "24h" — never "1.00:00:00".</summary>
public static class HumanDuration
{
    public static string Format(TimeSpan duration)
    {
        var seconds = duration.TotalSeconds;
        var c = CultureInfo.InvariantCulture;
        return seconds switch
        {
            < 0.001 => string.Create(c, $"{duration.TotalMicroseconds:F0}µs"),
            < 1 => string.Create(c, $"{duration.TotalMilliseconds:F0}ms"),
            < 60 => string.Create(c, $"{seconds:0.##}s"),
            < 3600 => string.Create(c, $"{(int)duration.TotalMinutes}m{duration.Seconds:00}s"),
            _ when duration.Minutes == 0 && duration.Seconds == 0 => string.Create(c, $"{(int)duration.TotalHours}h"),
            _ => string.Create(c, $"{(int)duration.TotalHours}h{duration.Minutes:00}m"),
        };
    }
}
