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
