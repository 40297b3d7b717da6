using Brim.Core.Statistics;
using System.Diagnostics;
using Brim.Engine;
using Brim.Telemetry.Cost;

namespace Brim.Cli.Bench;

/// <summary>The measurements of one offline run: every request submitted at t = 0, the engine driven until idle.</summary>
internal sealed record OfflineRunResult(
    string Label,
    int Requests,
    long PromptTokens,
    long OutputTokens,
    double Seconds,
    IReadOnlyList<(int OutputTokens, double LatencySeconds)> Latencies,
    double MeanOccupancy,
    long Steps,
    long Preemptions,
    long SwapPreemptions,
    double ForwardSeconds,
    double StepSeconds,
    double? FloorSeconds = null,
    StepMix? Mix = null)
{
    public double OutputTokensPerSecond => OutputTokens / Seconds;

    public double LatencyP50(Func<int, bool> filter) => Quantile.Of(Latencies.Where(l => filter(l.OutputTokens)).Select(l => l.LatencySeconds).ToList(), 0.5);

    public double LatencyP99(Func<int, bool> filter) => Quantile.Of(Latencies.Where(l => filter(l.OutputTokens)).Select(l => l.LatencySeconds).ToList(), 0.99);
}

/// <summary>How the forward time splits between steps that only decode and steps that also prefill.</summary>
internal sealed record StepMix(long DecodeSteps, double DecodeSeconds, long DecodeRows, long MixedSteps, double MixedSeconds, long MixedPrefillTokens)
{
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"decode-only steps {DecodeSteps} ({DecodeSeconds:F1} s, {1e3 * DecodeSeconds / Math.Max(1, DecodeSteps):F1} ms each at {(double)DecodeRows / Math.Max(1, DecodeSteps):F0} rows); "
        + $"steps with prefill {MixedSteps} ({MixedSeconds:F1} s, {MixedPrefillTokens} prompt tokens: {MixedPrefillTokens / Math.Max(1e-9, MixedSeconds):F0} tok/s incl. their decode rows)");
}

internal static class OfflineRun
{
    /// <param name="floor">
    /// The cost model and device peaks (FLOP/s, bytes/s) to sum the physical floor of the steps the engine ran: each at
    /// the larger of its FLOPs over the GEMM peak and its bytes (weights, the K/V actually read) over the copy bandwidth.
    /// </param>
    public static OfflineRunResult Run(
        string label, LlmEngine engine, IReadOnlyList<GenerationRequest> requests, bool progress = true, (ModelCostModel Cost, double Flops, double Bytes)? floor = null)
    {
        var latencies = new List<(int, double)>(requests.Count);
        var bar = progress ? new ProgressBar(label.PadRight(12), requests.Count) : null;
        long occupancySum = 0, steps = 0, preemptions = 0;
        double forward = 0, stepTime = 0, floorSeconds = 0, decodeSeconds = 0, mixedSeconds = 0;
        long decodeSteps = 0, decodeRows = 0, mixedSteps = 0, mixedPrefill = 0;
        void OnStep(StepRecord s)
        {
            if (s.PrefillTokens == 0)
            {
                decodeSteps++;
                decodeSeconds += s.ForwardSeconds;
                decodeRows += s.DecodeTokens;
            }
            else
            {
                mixedSteps++;
                mixedSeconds += s.ForwardSeconds;
                mixedPrefill += s.PrefillTokens;
            }

            if (floor is { } f)
            {
                var c = f.Cost.Estimate(StepShape.FromRecord(s));
                floorSeconds += Math.Max(c.Flops / f.Flops, c.Bytes / f.Bytes);
            }

            forward += s.ForwardSeconds;
            stepTime += s.StepSeconds;
            occupancySum += s.Sequences;
            steps++;
            preemptions += s.Preempted;
        }

        engine.StepCompleted += OnStep;
        var swapsBefore = engine.Snapshot().SwapPreemptions;
        var started = Stopwatch.GetTimestamp();
        long outputTokens = 0;
        foreach (var request in requests)
        {
            engine.Submit(request, u =>
            {
                if (u.IsFinal)
                {
                    latencies.Add((u.CompletionTokenCount, Stopwatch.GetElapsedTime(started).TotalSeconds));
                    outputTokens += u.CompletionTokenCount;
                    bar?.Report(latencies.Count);
                }
            });
        }

        engine.RunUntilIdle();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        engine.StepCompleted -= OnStep;
        var occupancy = steps == 0 ? 0 : (double)occupancySum / steps / engine.Options.MaxRunningSequences;
        return new OfflineRunResult(label, requests.Count, requests.Sum(r => (long)r.PromptTokens.Count), outputTokens, seconds, latencies, occupancy, steps, preemptions,
            engine.Snapshot().SwapPreemptions - swapsBefore, forward, stepTime, floor is null ? null : floorSeconds,
            new StepMix(decodeSteps, decodeSeconds, decodeRows, mixedSteps, mixedSeconds, mixedPrefill));
    }
}
