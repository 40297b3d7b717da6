using Brim.Core;
using Brim.Engine;

namespace Brim.Backends.Cuda.Tests.Support;

/// <summary>Submits requests to an engine, runs it until idle and collects each one's tokens and logprobs (none may fail, no block may stay used).</summary>
internal static class EngineRun
{
    public static (Dictionary<RequestId, int[]> Tokens, Dictionary<RequestId, List<TokenLogprobs>> Logprobs) Collect(LlmEngine engine, IReadOnlyList<GenerationRequest> requests)
    {
        var tokens = requests.ToDictionary(r => r.Id, _ => new List<int>());
        var logprobs = requests.ToDictionary(r => r.Id, _ => new List<TokenLogprobs>());
        foreach (var r in requests)
        {
            engine.Submit(r, u =>
            {
                Assert.Null(u.Error);
                tokens[u.Id].AddRange(u.NewTokens);
                logprobs[u.Id].AddRange(u.Logprobs ?? []);
            });
        }

        engine.RunUntilIdle();
        Assert.Equal(0, engine.UsedKvBlocks);
        return (tokens.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), logprobs);
    }
}
