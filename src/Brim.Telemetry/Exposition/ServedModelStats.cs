namespace Brim.Telemetry.Exposition;

/// <summary>
/// One served model of a server of several (or all of them together): what its engine did since start and what that
/// cost. The device time a model is charged is the time its engine's steps took (<see cref="BusySeconds"/>): on one
/// device shared by several engines that is the honest per-model figure (a wall-clock split would charge a model for
/// the other's work); where the engines' steps overlap on the device, each is charged the overlap, so the sum can
/// exceed the wall time and the prices are an upper bound.
/// </summary>
/// <param name="Name">The served name, or "all models".</param>
/// <param name="DeviceSecondsPerMillionOutputTokens">Device-seconds (busy) per 1M output tokens; null before any token.</param>
/// <param name="CostPerMillionOutputTokens">The device's price of those seconds; null without a price or a token.</param>
public sealed record ServedModelStats(
    string Name, long Parameters, long OutputTokens, long PrefillTokens, double BusySeconds, double? DeviceSecondsPerMillionOutputTokens, double? CostPerMillionOutputTokens)
{
    public const string AllModels = "all models";

    /// <summary>A model's row from its own telemetry hub's snapshot.</summary>
    public static ServedModelStats From(string name, TelemetrySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var t = snapshot.Totals;
        return Priced(name, snapshot.Model.Parameters, t.OutputTokens, t.PrefillTokens, t.BusySeconds, snapshot.Device.CostPerSecond);
    }

    /// <summary>The models together: their device time over their tokens (the router's cost as a whole).</summary>
    public static ServedModelStats Combined(IReadOnlyList<ServedModelStats> models, double? costPerSecond)
    {
        ArgumentNullException.ThrowIfNull(models);
        return Priced(AllModels, models.Sum(m => m.Parameters), models.Sum(m => m.OutputTokens), models.Sum(m => m.PrefillTokens), models.Sum(m => m.BusySeconds), costPerSecond);
    }

    private static ServedModelStats Priced(string name, long parameters, long output, long prefill, double busy, double? costPerSecond)
    {
        double? seconds = output > 0 ? busy / output * 1e6 : null;
        return new ServedModelStats(name, parameters, output, prefill, busy, seconds, seconds * costPerSecond);
    }
}

/// <summary>What a server's router did since start: requests per route and answering model, cascaded and escalated.</summary>
/// <param name="EscalatedShare">Escalations over cascaded requests; null before the cascade decided any.</param>
public sealed record RouterStats(string Alias, long Cascaded, long Escalations, double? EscalatedShare, IReadOnlyList<RouteCount> Routes);

/// <summary>Requests one route sent to one model.</summary>
public sealed record RouteCount(string Route, string Model, long Requests);
