namespace Brim.Telemetry.Devices;

/// <summary>
/// The device as telemetry prices and measures it: its name, catalog card, ceilings and hourly cost, each with where
/// it came from. Configured values win over the catalog; nothing known means null (shown as n/a).
/// </summary>
public sealed record DeviceProfile(string DeviceName, GpuCard? Card, DeviceCeilings Ceilings, int DeviceCount, double? HourlyCost, string HourlyCostSource)
{
    /// <summary>Dollars per second for all devices together, or null when no price is known.</summary>
    public double? CostPerSecond => HourlyCost / 3600.0 * DeviceCount;

    /// <summary>
    /// The ceilings of all devices together (a tensor-parallel model's ranks share each step's work): what MFU and MBU
    /// divide by, where <see cref="Ceilings"/> is one device's.
    /// </summary>
    public DeviceCeilings AllDevices => DeviceCount == 1
        ? Ceilings
        : Ceilings with { PeakFlopsPerSecond = Ceilings.PeakFlopsPerSecond * DeviceCount, PeakBytesPerSecond = Ceilings.PeakBytesPerSecond * DeviceCount };

    public static DeviceProfile Resolve(TelemetryOptions options, string? nvmlDeviceName)
    {
        options.Validate();
        var name = nvmlDeviceName ?? options.DeviceName ?? "unknown device";
        var card = GpuCatalog.Find(nvmlDeviceName) ?? GpuCatalog.Find(options.DeviceName);
        var datasheet = card?.DatasheetCeilings ?? DeviceCeilings.Unknown;
        var ceilings = (options.PeakFlopsPerSecond, options.PeakBytesPerSecond) switch
        {
            (null, null) => datasheet,
            var (f, b) => new DeviceCeilings(
                f ?? datasheet.PeakFlopsPerSecond,
                b ?? datasheet.PeakBytesPerSecond,
                f is not null && b is not null ? options.CeilingsSource : $"{options.CeilingsSource}, rest {datasheet.Source}"),
        };

        var (cost, costSource) = options.GpuHourlyCost is { } configured
            ? (configured, "--gpu-hourly-cost")
            : card is not null ? (card.HourlyCost, $"default for {card.Name}") : ((double?)null, "unknown card: pass --gpu-hourly-cost");
        return new DeviceProfile(name, card, ceilings, options.DeviceCount, cost, costSource);
    }
}
