using System.Globalization;

namespace Brim.Cli.Bench;

/// <summary>
/// `brim bench mixed --step-budget-ms`: the step-time budget of the engine's offline token cap in the runs that mix
/// online and offline traffic — off, a fixed number of milliseconds, or auto (derived from the online-only run).
/// </summary>
internal readonly record struct StepBudgetChoice(bool IsAuto, TimeSpan? Fixed)
{
    public static readonly StepBudgetChoice Auto = new(true, null);

    public static readonly StepBudgetChoice Off = new(false, null);

    public static bool TryParse(string text, out StepBudgetChoice choice)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "auto":
                choice = Auto;
                return true;
            case "off":
                choice = Off;
                return true;
        }

        choice = Off;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && double.IsFinite(ms) && ms >= 0.01 && ms <= 10_000)
        {
            choice = new StepBudgetChoice(false, TimeSpan.FromMilliseconds(ms));
            return true;
        }

        return false;
    }

    /// <summary>
    /// The budget for the mixed runs. Auto splits the TTFT limit (1.1 × online-only p99 + window): the window is the
    /// slack the limit grants for waiting on a slot, and the rest covers the two steps an arriving online request sits
    /// through — the one in flight and its own first step — so each step gets half of 1.1 × online-only p99.
    /// Null (no cap) when off, or when auto has no online-only TTFT to work from.
    /// </summary>
    public TimeSpan? Resolve(double onlineOnlyP99TtftSeconds)
    {
        if (!IsAuto)
        {
            return Fixed;
        }

        return double.IsFinite(onlineOnlyP99TtftSeconds) && onlineOnlyP99TtftSeconds > 0
            ? TimeSpan.FromTicks(Math.Max(1, (long)(1.1 * onlineOnlyP99TtftSeconds / 2 * TimeSpan.TicksPerSecond)))
            : null;
    }

    public override string ToString() => IsAuto ? "auto" : Fixed is { } f ? f.TotalMilliseconds.ToString("G4", CultureInfo.InvariantCulture) : "off";
}
