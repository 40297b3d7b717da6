using Brim.Core;
using Brim.Engine;
using Brim.Tokenization;

namespace Brim.Cli.Bench;

/// <summary>
/// A seeded mixed-length offline workload: every request arrives at once, output lengths spread uniformly over
/// [minOutput, maxOutput], and EOS is ignored so that every run of the same seed does exactly the same work.
/// </summary>
internal static class OfflineWorkload
{
    private static readonly string[] Openings =
    [
        "Once upon a time", "The little dog", "Tom and Sue went to the park", "One day, a bird", "Lily wanted a red ball",
        "There was a big tree", "The sun was hot and the children", "Mom said", "A small boat sailed", "Ben found a box",
    ];

    public static List<GenerationRequest> Create(ITokenizer tokenizer, int count, int minOutput, int maxOutput, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i => new GenerationRequest
        {
            Id = new RequestId($"bench-{i}"),
            PromptTokens = tokenizer.Encode(Openings[random.Next(Openings.Length)]),
            Sampling = SamplingParams.Greedy(random.Next(minOutput, maxOutput + 1)) with { IgnoreEos = true },
        }).ToList();
    }

    /// <summary>Fixed-shape requests of random token ids (the decode benchmark of real model shapes).</summary>
    public static List<GenerationRequest> FixedShape(int count, int promptLength, int outputLength, int vocabSize, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i => new GenerationRequest
        {
            Id = new RequestId($"fixed-{i}"),
            PromptTokens = Enumerable.Range(0, promptLength).Select(_ => random.Next(10, vocabSize - 10)).ToArray(),
            Sampling = SamplingParams.Greedy(outputLength) with { IgnoreEos = true },
        }).ToList();
    }
}
