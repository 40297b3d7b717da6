namespace Brim.Telemetry.Devices;

/// <summary>
/// Common cards with a default hourly price, so cost per 1M tokens has a number before anyone configures one. The
/// prices are typical 2025 on-demand cloud prices per card-hour and are meant to be overridden with
/// <c>--gpu-hourly-cost</c>; the ceilings are NVIDIA datasheet values (dense BF16, no sparsity), used for MFU/MBU only
/// when nothing measured or configured is given.
/// </summary>
public static class GpuCatalog
{
    public static IReadOnlyList<GpuCard> Cards { get; } =
    [
        new("H100 SXM", 3.00, 989e12, 3.35e12),
        new("H100 PCIe", 2.50, 756e12, 2.0e12),
        new("H200", 3.80, 989e12, 4.8e12),
        new("A100 80GB", 1.80, 312e12, 2.039e12),
        new("L40S", 1.00, 362e12, 0.864e12),
        new("L4", 0.70, 121e12, 0.3e12),
        new("A10G", 1.00, 125e12, 0.6e12),
        // A small CPU VM; a CPU's ceilings depend on the part, so MFU/MBU need configured numbers there.
        new("cpu", 0.10, null, null),
    ];

    /// <summary>
    /// The card a device name denotes: an NVML name ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"), a backend's
    /// name ("cpu (16 threads)") or a catalog name. Null when the device is not in the table.
    /// </summary>
    public static GpuCard? Find(string? deviceName)
    {
        if (string.IsNullOrWhiteSpace(deviceName))
        {
            return null;
        }

        var name = deviceName.ToUpperInvariant();
        string? key =
            name.Contains("H200", StringComparison.Ordinal) ? "H200"
            : name.Contains("H100", StringComparison.Ordinal) ? (name.Contains("PCIE", StringComparison.Ordinal) ? "H100 PCIe" : "H100 SXM")
            : name.Contains("A100", StringComparison.Ordinal) ? "A100 80GB"
            : name.Contains("L40S", StringComparison.Ordinal) ? "L40S"
            : HasWord(name, "L4") ? "L4"
            : name.Contains("A10G", StringComparison.Ordinal) ? "A10G"
            : HasWord(name, "CPU") ? "cpu"
            : null;
        return key is null ? null : Cards.First(c => c.Name == key);
    }

    private static bool HasWord(string text, string word)
    {
        for (var at = text.IndexOf(word, StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + 1, StringComparison.Ordinal))
        {
            var before = at == 0 || !char.IsLetterOrDigit(text[at - 1]);
            var end = at + word.Length;
            var after = end == text.Length || !char.IsLetterOrDigit(text[end]);
            if (before && after)
            {
                return true;
            }
        }

        return false;
    }
}
