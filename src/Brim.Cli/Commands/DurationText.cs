using System.Globalization;

namespace Brim.Cli.Commands;

/// <summary>
/// Durations as operators write them on the command line: a positive number and one unit, s, m, h or d
/// ("24h", "90m", "30s", "1.5h"). A bare number is refused rather than guessed at: "24" could mean seconds or hours.
/// </summary>
internal static class DurationText
{
    public const string Format = "a number and a unit: s, m, h or d (e.g. 24h, 90m, 30s)";

    /// <summary>The duration the way it is written on the command line: "24h", "90m", "30s", "2d".</summary>
    public static string ToText(TimeSpan duration)
    {
        var seconds = duration.TotalSeconds;
        foreach (var (unit, size) in new[] { ("d", 86400.0), ("h", 3600.0), ("m", 60.0) })
        {
            // The largest unit that gives a whole number: 36h stays 36h, 90m stays 90m, 24h is not "1d".
            if (seconds >= size && (seconds / size) % 1 == 0 && (unit != "d" || seconds % 86400 == 0 && seconds >= 2 * 86400))
            {
                return (seconds / size).ToString("0.#", CultureInfo.InvariantCulture) + unit;
            }
        }

        return seconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
    }

    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        text = text.Trim();
        if (text.Length < 2)
        {
            return false;
        }

        var unitSeconds = char.ToLowerInvariant(text[^1]) switch
        {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86400.0,
            _ => double.NaN,
        };
        if (double.IsNaN(unitSeconds)
            || !double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        // TimeSpan's range ends near 29,000 years; anything past a century is a typo, not a window.
        var seconds = number * unitSeconds;
        if (!double.IsFinite(seconds) || seconds > 100 * 365 * 86400.0)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
