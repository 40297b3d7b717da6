using System.CommandLine.Parsing;
using System.Globalization;

namespace Brim.Cli.Commands;

/// <summary>
/// Parsers of option values that refuse a bad value at parse time with a message naming the option, so the command
/// exits 2 before loading anything instead of failing deep inside the engine's option checks.
/// </summary>
internal static class OptionValues
{
    private const long GiB = 1L << 30;

    /// <summary>A whole number of at least 1.</summary>
    public static int AtLeastOne(ArgumentResult result)
    {
        var text = Text(result);
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= 1)
        {
            return value;
        }

        result.AddError($"{Name(result)} must be a whole number of at least 1; got '{text}'");
        return 1;
    }

    /// <summary>A share in (0, 1].</summary>
    public static double Share(ArgumentResult result)
    {
        var text = Text(result);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is > 0 and <= 1)
        {
            return value;
        }

        result.AddError($"{Name(result)} must be in (0, 1]; got '{text}'");
        return 1;
    }

    /// <summary>
    /// GiB of host swap space, returned in bytes. Like vLLM, more than 70 % of the host's memory is refused: pinned memory
    /// cannot be paged out, so such a swap space starves the rest of the machine (or fails to allocate at all).
    /// </summary>
    public static long SwapSpaceBytes(ArgumentResult result) => SwapSpaceBytes(result, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    internal static long SwapSpaceBytes(ArgumentResult result, long hostMemoryBytes)
    {
        var text = Text(result);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var gib) || !double.IsFinite(gib) || gib < 0)
        {
            result.AddError($"{Name(result)} must be 0 or more GiB; got '{text}'");
            return 0;
        }

        var limit = 0.7 * hostMemoryBytes / GiB;
        if (gib > limit)
        {
            result.AddError(string.Create(CultureInfo.InvariantCulture,
                $"{Name(result)} {text} GiB is more than 70 % of this machine's {hostMemoryBytes / (double)GiB:F1} GiB of memory (at most {limit:F1})"));
            return 0;
        }

        return (long)Math.Round(gib * GiB);
    }

    private static string Text(ArgumentResult result) => string.Join(' ', result.Tokens.Select(t => t.Value));

    private static string Name(ArgumentResult result) => result.Parent is OptionResult option ? option.Option.Name : "the value";
}
