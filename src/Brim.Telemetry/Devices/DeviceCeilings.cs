namespace Brim.Telemetry.Devices;

/// <summary>
/// The denominators of MFU and MBU: the most FLOP/s and bytes/s the device can do. Null means unknown, and the
/// utilization derived from it is reported as n/a rather than guessed.
/// </summary>
/// <param name="Source">Where the numbers come from ("measured at startup", "configured", "datasheet: H100 SXM").</param>
public sealed record DeviceCeilings(double? PeakFlopsPerSecond, double? PeakBytesPerSecond, string Source)
{
    public static DeviceCeilings Unknown { get; } = new(null, null, "unknown");

    /// <summary>Throws for a non-positive or non-finite ceiling.</summary>
    public void Validate()
    {
        if (PeakFlopsPerSecond is { } f && !(f > 0 && double.IsFinite(f)))
        {
            throw new ArgumentOutOfRangeException(nameof(PeakFlopsPerSecond), f, "peak FLOP/s must be positive and finite");
        }

        if (PeakBytesPerSecond is { } b && !(b > 0 && double.IsFinite(b)))
        {
            throw new ArgumentOutOfRangeException(nameof(PeakBytesPerSecond), b, "peak bytes/s must be positive and finite");
        }
    }
}
