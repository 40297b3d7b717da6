using Brim.Engine;
using Brim.Telemetry.Cost;
using Brim.Telemetry.Devices;

namespace Brim.Telemetry.Recording;

/// <summary>
/// The engine-side truth about one step: how full the batch was, how many tokens it moved, what the model's arithmetic
/// cost and how close that came to the device's ceilings.
/// </summary>
/// <param name="Occupancy">Sequences in this step's batch / the batch slots (max running sequences).</param>
/// <param name="Mfu">Model FLOPs / (step seconds × peak FLOP/s); null when the peak is unknown.</param>
/// <param name="Mbu">Model bytes / (step seconds × peak bytes/s); null when the peak is unknown.</param>
/// <param name="HostSecondsInStep">Step time outside the forward pass (scheduling, batch building, sampling).</param>
/// <param name="HostGapSeconds">Time between the previous step's end and this one's start while work was waiting;
/// null after an idle period (an idle engine waits by design).</param>
public readonly record struct StepMetrics(
    StepRecord Record,
    StepCost Cost,
    double Occupancy,
    double TokensPerSecond,
    double OutputTokensPerSecond,
    double? Mfu,
    double? Mbu,
    double HostSecondsInStep,
    double? HostGapSeconds)
{
    public static StepMetrics From(in StepRecord record, ModelCostModel model, DeviceCeilings ceilings, double? hostGapSeconds)
    {
        var cost = model.Estimate(StepShape.FromRecord(record));
        var seconds = record.StepSeconds;
        var tokens = record.PrefillTokens + record.DecodeTokens;
        return new StepMetrics(
            record,
            cost,
            record.MaxRunning > 0 ? (double)record.Sequences / record.MaxRunning : 0,
            seconds > 0 ? tokens / seconds : 0,
            seconds > 0 ? record.SampledTokens / seconds : 0,
            Utilization(cost.Flops, seconds, ceilings.PeakFlopsPerSecond),
            Utilization(cost.Bytes, seconds, ceilings.PeakBytesPerSecond),
            Math.Max(0, record.StepSeconds - record.ForwardSeconds),
            hostGapSeconds);
    }

    internal static double? Utilization(double work, double seconds, double? peakPerSecond) =>
        peakPerSecond is { } peak && seconds > 0 ? work / seconds / peak : null;
}
