namespace Brim.Server.Bench.RightSizing;

/// <summary>One request of the right-sizing workload: a story prompt, long or short, sampled with its own seed.</summary>
public sealed record RightSizeRequest(int Index, string Prompt, bool Long, long Seed);

/// <summary>
/// The right-sizing workload: <c>count</c> completions of story prompts, a stated share of them long (a few hundred
/// tokens: the router's prompt-length rule sends those to the large model), the rest short openers the cascade tries on
/// the small model first. Sampled at temperature 1 with a seed per request, so the small model is sure of some answers
/// and unsure of others, and every arm of the benchmark sends exactly the same requests.
/// </summary>
public static class RightSizeWorkload
{
    private static readonly string[] Openers =
    [
        "Once upon a time", "One day, a little girl", "Tom and his dog", "The sun was shining and", "Lily wanted to play",
        "There was a big tree", "A small bird", "Ben found a red ball", "Mom said to Sue", "The cat was sad because",
    ];

    private static readonly string[] Sentences =
    [
        "The little dog ran to the park.", "Lily saw a big red ball in the grass.", "Her mom smiled and gave her a hug.",
        "They played all day under the warm sun.", "Tom was happy because he had a new friend.", "The bird sang a happy song.",
        "It was time to go home and eat.", "The cat jumped on the bed and slept.",
    ];

    /// <param name="longShare">Share of the requests with a long prompt, in [0, 1].</param>
    /// <param name="longSentences">Sentences in a long prompt (about 10 tokens each with the bundled tokenizer).</param>
    public static IReadOnlyList<RightSizeRequest> Create(int count, double longShare, int longSentences, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (!(longShare is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(longShare), longShare, "the long share is in [0, 1]");
        }

        var random = new Random(seed);
        var longCount = (int)Math.Round(count * longShare);
        var isLong = Enumerable.Range(0, count).Select(i => i < longCount).OrderBy(_ => random.Next()).ToArray();
        var requests = new RightSizeRequest[count];
        for (var i = 0; i < count; i++)
        {
            var opener = Openers[random.Next(Openers.Length)];
            var prompt = isLong[i]
                ? string.Join(' ', Enumerable.Range(0, longSentences).Select(_ => Sentences[random.Next(Sentences.Length)])) + " " + opener
                : opener;
            requests[i] = new RightSizeRequest(i, prompt, isLong[i], seed * 100_003L + i);
        }

        return requests;
    }
}
