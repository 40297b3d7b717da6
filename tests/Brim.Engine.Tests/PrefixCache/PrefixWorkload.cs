using Brim.Core;

namespace Brim.Engine.Tests.PrefixCache;

/// <summary>
/// A randomized, reproducible traffic mix for prefix-cache tests on the bundled model: prompts built from a few shared
/// system prompts, chat histories that grow turn by turn, exact repeats and one-off prompts; greedy and seeded sampling;
/// online and offline; arrivals spread over steps, and some requests cancelled mid-flight.
/// </summary>
internal sealed class PrefixWorkload
{
    public required List<GenerationRequest> Requests { get; init; }

    /// <summary>The engine step at which each request is submitted.</summary>
    public required Dictionary<RequestId, int> ArrivalStep { get; init; }

    /// <summary>Requests cancelled at a step after their arrival.</summary>
    public required Dictionary<RequestId, int> CancelStep { get; init; }

    /// <param name="greedyWithLogprobs">Every request greedy with the top-2 logprobs (to tell a near tie from a wrong answer).</param>
    public static PrefixWorkload Create(int seed, int count, int vocab, bool greedyWithLogprobs = false)
    {
        var random = new Random(seed);
        int[] RandomTokens(int n) => Enumerable.Range(0, n).Select(_ => random.Next(3, vocab)).ToArray();
        var systemPrompts = Enumerable.Range(0, 3).Select(i => RandomTokens(20 + (i * 27))).ToArray();
        var chats = new List<List<int>>();
        var requests = new List<GenerationRequest>();
        var arrival = new Dictionary<RequestId, int>();
        var cancel = new Dictionary<RequestId, int>();
        for (var i = 0; i < count; i++)
        {
            List<int> prompt;
            var kind = random.Next(10);
            if (kind < 5)
            {
                prompt = [1, .. systemPrompts[random.Next(systemPrompts.Length)], .. RandomTokens(random.Next(1, 30))];
            }
            else if (kind < 8)
            {
                // A chat resends its whole history plus the new turn.
                if (chats.Count == 0 || random.Next(3) == 0)
                {
                    chats.Add([1, .. systemPrompts[0]]);
                }

                var chat = chats[random.Next(chats.Count)];
                chat.AddRange(RandomTokens(random.Next(4, 24)));
                prompt = [.. chat];
            }
            else if (kind < 9 && requests.Count > 0)
            {
                prompt = [.. requests[random.Next(requests.Count)].PromptTokens];
            }
            else
            {
                prompt = [1, .. RandomTokens(random.Next(5, 90))];
            }

            var sampling = random.Next(2) == 0
                ? SamplingParams.Greedy(random.Next(4, 48))
                : new SamplingParams { Temperature = 0.9f, TopP = 0.95f, Seed = random.Next(), MaxTokens = random.Next(4, 48) };
            if (greedyWithLogprobs)
            {
                sampling = sampling with { Temperature = 0f, Seed = null, Logprobs = 2 };
            }

            var id = new RequestId($"r{i}");
            requests.Add(new GenerationRequest
            {
                Id = id,
                PromptTokens = prompt.Take(400).ToArray(),
                Sampling = sampling,
                TrafficClass = random.Next(3) == 0 ? TrafficClass.Offline : TrafficClass.Online,
            });
            arrival[id] = i * 2;
            if (random.Next(8) == 0)
            {
                cancel[id] = arrival[id] + random.Next(1, 40);
            }
        }

        return new PrefixWorkload { Requests = requests, ArrivalStep = arrival, CancelStep = cancel };
    }

    /// <summary>What one request produced: its tokens, why it finished, and the prompt tokens the cache supplied.</summary>
    public sealed record Outcome(List<int> Tokens, FinishReason? Finish, int CachedPromptTokens)
    {
        /// <summary>Per token, when the request asked for logprobs.</summary>
        public List<TokenLogprobs> Logprobs { get; } = [];
    }

    /// <summary>
    /// Drives <paramref name="engine"/> step by step, submitting and cancelling as scheduled (or every request at once
    /// and no cancellation when <paramref name="chaos"/> is false); returns each request's outcome and the steps run.
    /// </summary>
    public (Dictionary<RequestId, Outcome> Outcomes, int Steps) Run(LlmEngine engine, bool chaos)
    {
        var outcomes = Requests.ToDictionary(r => r.Id, _ => new Outcome([], null, 0));
        var logprobs = Requests.ToDictionary(r => r.Id, _ => new List<TokenLogprobs>());
        var lastArrival = chaos ? ArrivalStep.Values.Max() : 0;
        var steps = 0;
        for (var step = 0; step <= lastArrival || engine.Snapshot() is { Running: > 0 } or { Waiting: > 0 }; step++)
        {
            foreach (var r in Requests.Where(r => chaos ? ArrivalStep[r.Id] == step : step == 0))
            {
                engine.Submit(r, u =>
                {
                    Assert.Null(u.Error);
                    var o = outcomes[u.Id];
                    o.Tokens.AddRange(u.NewTokens);
                    logprobs[u.Id].AddRange(u.Logprobs ?? []);
                    outcomes[u.Id] = o with { Finish = u.FinishReason ?? o.Finish, CachedPromptTokens = u.CachedPromptTokenCount };
                });
            }

            foreach (var (id, at) in CancelStep)
            {
                if (chaos && at == step)
                {
                    engine.Cancel(id);
                }
            }

            steps += engine.Step() ? 1 : 0;
            Assert.True(step < 100_000, "the workload must finish");
        }

        Assert.All(outcomes.Values, o => Assert.NotNull(o.Finish));
        foreach (var (id, o) in outcomes)
        {
            o.Logprobs.AddRange(logprobs[id]);
        }

        return (outcomes, steps);
    }
}
