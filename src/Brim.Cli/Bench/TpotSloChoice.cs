using System.Globalization;

namespace Brim.Cli.Bench;

/// <summary>
/// An online TPOT budget for `brim bench mixed`'s runs that mix both classes: auto (the engine learns it from the online
/// work's own TPOT, keeping its p99 within 1.1 × alone), step (1.05 × each step's own online work: the earlier policy, to
/// measure against), a fixed number of milliseconds, or a multiple of the online-only
/// run's p99 TPOT ("1.1x": steps with online decode rows may grow to 1.1 × that p99), which is how a sweep walks the
/// frontier between online latency and offline throughput without knowing the device's numbers in advance.
/// </summary>
internal readonly record struct TpotSloChoice(double? Milliseconds, double? OfOnlineOnlyP99, bool PerStep = false)
{
    public static readonly TpotSloChoice Auto = new(null, null);

    /// <summary>The policy before the learned budget: each step with online decode rows within 1.05 × its own online work.</summary>
    public static readonly TpotSloChoice Step = new(null, null, PerStep: true);

    public bool IsAuto => Milliseconds is null && OfOnlineOnlyP99 is null && !PerStep;

    public static bool TryParse(string text, out TpotSloChoice choice)
    {
        text = text.Trim().ToLowerInvariant();
        choice = Auto;
        if (text == "auto")
        {
            return true;
        }

        if (text == "step")
        {
            choice = Step;
            return true;
        }

        var factor = text.EndsWith('x');
        if (!double.TryParse(factor ? text[..^1] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value) || value <= 0 || value > (factor ? 100 : 10_000))
        {
            return false;
        }

        choice = factor ? new TpotSloChoice(null, value) : new TpotSloChoice(value, null);
        return true;
    }

    /// <summary>The engine's explicit TPOT budget (null: auto, learned), given the online-only run's p99 TPOT in seconds.</summary>
    public TimeSpan? Resolve(double onlineOnlyP99TpotSeconds) =>
        Milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms)
        : OfOnlineOnlyP99 is { } f && double.IsFinite(onlineOnlyP99TpotSeconds) && onlineOnlyP99TpotSeconds > 0 ? TimeSpan.FromSeconds(f * onlineOnlyP99TpotSeconds)
        : null;

    /// <summary>As the option takes it: auto, milliseconds, or a multiple such as 1.1x.</summary>
    public override string ToString() =>
        Milliseconds is { } ms ? ms.ToString("G4", CultureInfo.InvariantCulture)
        : OfOnlineOnlyP99 is { } f ? f.ToString("G4", CultureInfo.InvariantCulture) + "x"
        : PerStep ? "step" : "auto";
}
