using Brim.Core;
using Brim.Engine;

namespace Brim.Cli.Bench;

/// <summary>
/// The two shapes of repeated-prefix traffic `brim bench prefix` measures, with seeded random token ids (a real model
/// shape with dummy weights has no text to speak of): one long system prompt shared by every request, and chats
/// that resend their whole history each turn.
/// </summary>
internal sealed record PrefixWorkloads(int PrefixLength, int SuffixLength, int OutputLength, int VocabSize)
{
    /// <summary>Every request: the same <see cref="PrefixLength"/>-token system prompt, then a suffix of its own.</summary>
    public List<GenerationRequest> SharedSystemPrompt(int count, int seed)
    {
        var random = new Random(seed);
        var system = Tokens(random, PrefixLength);
        return Enumerable.Range(0, count).Select(i => Request($"shared-{seed}-{i}", [.. system, .. Tokens(random, SuffixLength)])).ToList();
    }

    /// <summary>
    /// The first turn of each of <paramref name="conversations"/> chats: the system prompt and a user message. Later
    /// turns come from <see cref="NextTurn"/>, built from what the model actually answered.
    /// </summary>
    public List<GenerationRequest> FirstTurns(int conversations, int seed)
    {
        var random = new Random(seed);
        var system = Tokens(random, PrefixLength);
        return Enumerable.Range(0, conversations).Select(c => Request($"chat-{seed}-{c}-0", [.. system, .. Tokens(random, SuffixLength)])).ToList();
    }

    /// <summary>The next turn of a chat: its whole history (prompt and the answer) plus a new user message.</summary>
    public GenerationRequest NextTurn(GenerationRequest previous, IReadOnlyList<int> answer, int turn, Random random)
    {
        var id = previous.Id.Value[..previous.Id.Value.LastIndexOf('-')] + "-" + turn;
        return Request(id, [.. previous.PromptTokens, .. answer, .. Tokens(random, SuffixLength)]);
    }

    private GenerationRequest Request(string id, int[] prompt) => new()
    {
        Id = new RequestId(id),
        PromptTokens = prompt,
        Sampling = SamplingParams.Greedy(OutputLength) with { IgnoreEos = true },
    };

    private int[] Tokens(Random random, int count) => Enumerable.Range(0, count).Select(_ => random.Next(10, VocabSize - 10)).ToArray();
}
