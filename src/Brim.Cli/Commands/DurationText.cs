using System.Globalization;

namespace Brim.Cli.Commands;

/// <summary>
/// Durations as operators write them on the command line: a positive number and one unit, s, m, h or d
/// ("24h", "90m", "30s", "1.5h"). A bare number is refused rather than guessed at: "24" could mean seconds or hours.
/// </summary>
internal static class DurationText
{
    public const string Format = "a number and a unit: s, m, h or d (e.g. 24h, 90m, 30s)";

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
