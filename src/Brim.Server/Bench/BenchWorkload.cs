namespace Brim.Server.Bench;

/// <summary>One synthetic request: prompt token ids and the exact number of tokens to generate (EOS is ignored).</summary>
public sealed record BenchRequest(int[] Prompt, int OutputTokens);

/// <summary>How long prompts and outputs are: uniform in [len·(1−ratio), len·(1+ratio)], as vLLM's random dataset draws them.</summary>
public sealed record BenchWorkloadOptions
{
    public int Requests { get; init; } = 256;

    public int InputLength { get; init; } = 64;

    public int OutputLength { get; init; } = 128;

    public double RangeRatio { get; init; } = 0.5;

    public int Seed { get; init; }
}

/// <summary>Builds a reproducible list of synthetic requests for a model's vocabulary and context.</summary>
public static class BenchWorkload
{
    public static IReadOnlyList<BenchRequest> Create(BenchWorkloadOptions options, int vocabSize, int? bosTokenId, int maxModelLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Requests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InputLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.OutputLength, 1);
        if (options.RangeRatio is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "the range ratio must be in [0, 1)");
        }

        var random = new Random(options.Seed);
        var requests = new BenchRequest[options.Requests];
        for (var i = 0; i < requests.Length; i++)
        {
            var input = Draw(random, options.InputLength, options.RangeRatio);
            var output = Draw(random, options.OutputLength, options.RangeRatio);
            input = Math.Min(input, maxModelLength - 2);
            output = Math.Min(output, maxModelLength - input);
            var prompt = new int[input];
            for (var t = 0; t < input; t++)
            {
                prompt[t] = random.Next(3, vocabSize); // skip the ids small vocabularies reserve for unk/bos/eos
            }

            if (bosTokenId is { } bos)
            {
                prompt[0] = bos;
            }

            requests[i] = new BenchRequest(prompt, output);
        }

        return requests;
    }

    private static int Draw(Random random, int length, double ratio)
    {
        var low = Math.Max(1, (int)Math.Round(length * (1 - ratio)));
        var high = Math.Max(low, (int)Math.Round(length * (1 + ratio)));
        return random.Next(low, high + 1);
    }
}
