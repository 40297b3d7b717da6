using Brim.Core;

namespace Brim.Engine.Tests;

/// <summary>Sequences for scheduler tests: prompt 1..n, greedy, numbered in arrival order.</summary>
internal sealed class TestSequences
{
    private long _arrivals;

    public Sequence New(TrafficClass cls, int promptLength, int maxTokens)
    {
        var request = new GenerationRequest
        {
            Id = new RequestId($"r{_arrivals}"),
            PromptTokens = Enumerable.Range(1, promptLength).ToArray(),
            Sampling = SamplingParams.Greedy(maxTokens),
            TrafficClass = cls,
        };
        return new Sequence(request, _arrivals++, text: null);
    }
}

/// <summary>A clock the test moves by hand (Stopwatch-style timestamps in ticks).</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = 1_000_000;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public void Advance(TimeSpan by) => _ticks += by.Ticks;
}
