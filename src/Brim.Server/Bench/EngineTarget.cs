using System.Diagnostics;
using Brim.Core;
using Brim.Engine;

namespace Brim.Server.Bench;

/// <summary>Requests straight into <see cref="LlmEngine.GenerateAsync"/>: the engine alone, no HTTP.</summary>
public sealed class EngineTarget(LlmEngine engine) : IBenchTarget
{
    private long _next;

    public string Name => "engine";

    public async Task<RequestTiming> SendAsync(BenchRequest request, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var last = start;
        double ttft = 0;
        var itls = new List<double>(request.OutputTokens);
        var tokens = 0;
        var generation = new GenerationRequest
        {
            Id = new RequestId($"bench-{Interlocked.Increment(ref _next)}"),
            PromptTokens = request.Prompt,
            Sampling = new SamplingParams { Temperature = 0f, MaxTokens = request.OutputTokens, IgnoreEos = true },
        };
        await foreach (var update in engine.GenerateAsync(generation, cancellationToken).ConfigureAwait(false))
        {
            if (update.NewTokens.Count > 0)
            {
                var now = Stopwatch.GetTimestamp();
                if (tokens == 0)
                {
                    ttft = Stopwatch.GetElapsedTime(start, now).TotalSeconds;
                }
                else
                {
                    itls.Add(Stopwatch.GetElapsedTime(last, now).TotalSeconds);
                }

                last = now;
                tokens = update.CompletionTokenCount;
            }

            if (update.FinishReason is FinishReason.Error or FinishReason.Cancelled)
            {
                return new RequestTiming { Succeeded = false, Error = update.Error ?? update.FinishReason.ToString() };
            }
        }

        return new RequestTiming
        {
            Succeeded = true, TimeToFirstToken = ttft, EndToEnd = Stopwatch.GetElapsedTime(start).TotalSeconds,
            OutputTokens = tokens, InterTokenLatencies = itls,
        };
    }
}
