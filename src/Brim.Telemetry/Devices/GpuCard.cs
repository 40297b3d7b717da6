namespace Brim.Telemetry.Devices;

/// <summary>A card of the <see cref="GpuCatalog"/>: what an hour of it costs by default and its datasheet ceilings.</summary>
/// <param name="Name">The catalog's name for the card (also what <c>--gpu</c>-style options accept).</param>
/// <param name="HourlyCost">Default price of one card-hour in US dollars (on-demand cloud list prices, rounded).</param>
/// <param name="DenseBf16FlopsPerSecond">Datasheet dense BF16 tensor FLOP/s (no sparsity); null when not published.</param>
/// <param name="MemoryBytesPerSecond">Datasheet memory bandwidth; null for a CPU.</param>
public sealed record GpuCard(string Name, double HourlyCost, double? DenseBf16FlopsPerSecond, double? MemoryBytesPerSecond)
{
    public DeviceCeilings DatasheetCeilings => new(DenseBf16FlopsPerSecond, MemoryBytesPerSecond, $"datasheet: {Name}");
}
