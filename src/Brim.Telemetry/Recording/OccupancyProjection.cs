using Brim.Telemetry.Devices;

namespace Brim.Telemetry.Recording;

/// <summary>One row of the live economics table: throughput and cost at a batch occupancy, measured or projected.</summary>
public sealed record EconomicsRow(string Label, double Occupancy, bool Projected, double? OutputTokensPerSecond, double? CostPerMillionOutputTokens);

/// <summary>
/// What throughput and cost would be if the batch slots were fuller, extrapolated from the steps of a window. The
/// assumptions, stated so the numbers can be judged:
/// <list type="number">
/// <item>The device is never idle (steps run back to back) and the sequences look like the measured ones (same
/// context lengths, same prefill share), so per-sequence FLOPs and bytes scale with the batch.</item>
/// <item>A step's time is proportional to the bytes it moves at the bandwidth efficiency achieved now: weights are
/// read once per step whatever the batch, KV and per-token traffic grow with it. Decode is bandwidth-bound, so this
/// holds until the batch reaches the compute ceiling …</item>
/// <item>… which it never beats: a step takes at least its FLOPs / peak FLOP/s (when the peak is known).</item>
/// <item>The KV cache has room for the larger batch.</item>
/// </list>
/// </summary>
internal static class OccupancyProjection
{
    public const string Assumption =
        "projected rows assume no idle time, the same mix of sequences, step time proportional to bytes moved " +
        "(weights read once per step, KV per sequence) at today's bandwidth efficiency, capped by peak FLOP/s, and KV room for the batch";

    public static IReadOnlyList<EconomicsRow> Table(in SecondBucket window, double wallSeconds, DeviceProfile device, IReadOnlyList<double> targets)
    {
        var rows = new List<EconomicsRow>(targets.Count + 1);
        var occupancy = window.BusySeconds > 0 ? window.OccupancySeconds / window.BusySeconds : 0;
        var measured = window.OutputTokens / Math.Max(wallSeconds, 1e-9);
        rows.Add(new EconomicsRow("measured", occupancy, false, window.Steps > 0 ? measured : null,
            WindowStats.CostPerMillion(device.CostPerSecond, wallSeconds, window.OutputTokens)));
        foreach (var target in targets)
        {
            var tokensPerSecond = ProjectTokensPerSecond(window, target, device.AllDevices.PeakFlopsPerSecond);
            rows.Add(new EconomicsRow($"{target:P0} of slots", target, true, tokensPerSecond,
                tokensPerSecond is { } t ? WindowStats.CostPerMillion(device.CostPerSecond, 1, t) : null));
        }

        return rows;
    }

    /// <summary>Output tokens/s at <paramref name="targetOccupancy"/> of the slots, or null when nothing ran.</summary>
    public static double? ProjectTokensPerSecond(in SecondBucket window, double targetOccupancy, double? peakFlopsPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetOccupancy);
        if (window.Steps == 0 || window.SequenceSum == 0 || window.BusySeconds <= 0 || window.OutputTokens == 0 || window.MaxRunning == 0)
        {
            return null;
        }

        var steps = (double)window.Steps;
        var sequencesPerStep = window.SequenceSum / steps;
        var scale = targetOccupancy * window.MaxRunning / sequencesPerStep;
        var stepSeconds = window.BusySeconds / steps;
        var bytes = window.Bytes / steps;
        var fixedBytes = window.FixedWeightBytes / steps;
        var scaledBytes = fixedBytes + ((bytes - fixedBytes) * scale);
        var projectedSeconds = stepSeconds * (scaledBytes / bytes);
        if (peakFlopsPerSecond is { } peak)
        {
            projectedSeconds = Math.Max(projectedSeconds, window.Flops / steps * scale / peak);
        }

        return window.OutputTokens / steps * scale / projectedSeconds;
    }
}
