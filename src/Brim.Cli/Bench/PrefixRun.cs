using System.Diagnostics;
using Brim.Engine;
using Brim.Telemetry.Cost;

namespace Brim.Cli.Bench;

/// <summary>What one prefix-benchmark run measured.</summary>
internal sealed record PrefixRunResult(
    string Label,
    int Requests,
    long OutputTokens,
    long ComputedPromptTokens,
    double Seconds,
    IReadOnlyList<double> Ttft,
    long QueriedTokens,
    long HitTokens,
    long Evictions,
    double? FloorSeconds)
{
    public double OutputTokensPerSecond => OutputTokens / Seconds;

    /// <summary>Share of looked-up prompt tokens found cached (NaN with the cache off).</summary>
    public double HitRate => QueriedTokens == 0 ? double.NaN : (double)HitTokens / QueriedTokens;
}

/// <summary>
/// Drives an engine through a prefix workload on the caller's thread and measures it: output tokens/s, time to first
/// token per request, prompt tokens actually computed, the cache's hit rate, and the physical floor of the steps the
/// engine ran (each step at the larger of its FLOPs over the GEMM peak and its bytes over the copy bandwidth).
/// </summary>
internal static class PrefixRun
{
    /// <param name="next">For chats: the request to submit when one finishes (with its answer), or null when its chat is over.</param>
    public static PrefixRunResult Run(
        string label, LlmEngine engine, IReadOnlyList<GenerationRequest> initial, ModelCostModel cost, (double Flops, double Bytes)? peaks,
        Func<GenerationRequest, IReadOnlyList<int>, GenerationRequest?>? next = null)
    {
        var ttft = new List<double>();
        long outputTokens = 0, prefill = 0, requests = 0;
        double floor = 0;
        void OnStep(StepRecord s)
        {
            prefill += s.PrefillTokens;
            if (peaks is { } p)
            {
                var c = cost.Estimate(StepShape.FromRecord(s));
                floor += Math.Max(c.Flops / p.Flops, c.Bytes / p.Bytes);
            }
        }

        var before = engine.Snapshot();
        engine.StepCompleted += OnStep;
        var started = Stopwatch.GetTimestamp();
        void Submit(GenerationRequest request)
        {
            var submitted = Stopwatch.GetTimestamp();
            var answer = new List<int>();
            requests++;
            engine.Submit(request, u =>
            {
                if (answer.Count == 0 && u.NewTokens.Count > 0)
                {
                    ttft.Add(Stopwatch.GetElapsedTime(submitted).TotalSeconds);
                }

                answer.AddRange(u.NewTokens);
                if (u.IsFinal)
                {
                    if (u.Error is { } error)
                    {
                        throw new InvalidOperationException($"{request.Id}: {error}");
                    }

                    outputTokens += u.CompletionTokenCount;
                    if (next?.Invoke(request, answer) is { } following)
                    {
                        Submit(following);
                    }
                }
            });
        }

        foreach (var request in initial)
        {
            Submit(request);
        }

        engine.RunUntilIdle();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        engine.StepCompleted -= OnStep;
        var after = engine.Snapshot();
        return new PrefixRunResult(
            label, (int)requests, outputTokens, prefill, seconds, ttft,
            after.PrefixCacheQueriedTokens - before.PrefixCacheQueriedTokens, after.PrefixCacheHitTokens - before.PrefixCacheHitTokens,
            after.PrefixCacheEvictions - before.PrefixCacheEvictions, peaks is null ? null : floor);
    }
}
