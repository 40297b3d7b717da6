namespace Brim.Server.Bench.RightSizing;

/// <summary>
/// One arm of the right-sizing benchmark: the workload sent to one model name (a model, or the router's alias).
/// <see cref="DeviceSeconds"/> is measured, not assumed: the engines' time in steps during the arm, read from the
/// server's /v1/stats before and after (the sum over its models). Where two models' engines run at once on one device
/// their steps overlap and that sum counts the overlap twice, so the cost of an arm is the device held for it:
/// <see cref="WallSeconds"/> × one device (the benchmark's server has the device to itself). For one saturated engine the
/// two agree.
/// </summary>
public sealed record RightSizeResult(
    string Label, string Model, int Requests, long OutputTokens, double WallSeconds, double DeviceSeconds,
    IReadOnlyDictionary<string, int> AnsweredBy, int Cascaded, int Escalated)
{
    public double OutputTokensPerSecond => OutputTokens / Math.Max(WallSeconds, 1e-9);

    /// <summary>Engine step-seconds (summed over the models) per 1M output tokens; null without output.</summary>
    public double? DeviceSecondsPerMillion => OutputTokens > 0 ? DeviceSeconds / OutputTokens * 1e6 : null;

    /// <summary>Seconds the one device was held per 1M output tokens (wall time of the arm); null without output.</summary>
    public double? HeldSecondsPerMillion => OutputTokens > 0 ? WallSeconds / OutputTokens * 1e6 : null;

    /// <summary>Escalated over cascaded requests; null when the arm cascaded none.</summary>
    public double? EscalatedShare => Cascaded > 0 ? (double)Escalated / Cascaded : null;

    /// <summary>Share of the requests the named model answered.</summary>
    public double ShareAnsweredBy(string model) => AnsweredBy.TryGetValue(model, out var n) ? (double)n / Requests : 0;

    /// <summary>Dollars per 1M output tokens at <paramref name="hourlyCost"/> per device-hour held; null without a price or output.</summary>
    public double? CostPerMillion(double? hourlyCost) => HeldSecondsPerMillion * hourlyCost / 3600;
}
