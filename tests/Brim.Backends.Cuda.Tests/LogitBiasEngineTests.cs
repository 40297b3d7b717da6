using Brim.Core;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Engine;
using Brim.Models;
using Brim.Tokenization;

namespace Brim.Backends.Cuda.Tests;

/// <summary>
/// The CUDA backend samples stateless rows on the device, which knows nothing of logit_bias: the engine must send a
/// biased sequence's logits to the host sampler, alone in a step or beside unbiased sequences.
/// </summary>
public class LogitBiasEngineTests
{
    private const int Forced = 300;

    [Fact]
    public void Generate_OnCuda_Plus100BiasForcesTheTokenAndMinus100BansTheGreedyOne()
    {
        Gpu.Require();
        var dir = Path.Combine(AppContext.BaseDirectory, "Models");
        using var model = ModelLoader.Load(Path.Combine(dir, "stories260K.bin"));
        var tokenizer = TokenizerLoader.Load(Path.Combine(dir, "tok512.bin"));
        using var backend = new CudaBackend(model);
        Assert.True(backend.SupportsDeviceSampling);
        using var engine = new LlmEngine(backend, tokenizer, new EngineOptions { NumKvBlocks = 64, SwapSpaceBytes = 0 }, model.Config.MaxPositions);

        var plain = Request("plain", SamplingParams.Greedy(12) with { IgnoreEos = true });
        var forced = Request("forced", new SamplingParams { Temperature = 1f, Seed = 3, MaxTokens = 12, IgnoreEos = true, LogitBias = new Dictionary<int, float> { [Forced] = 100f } });

        // Alone: every row of the step is biased.
        var alone = Run(engine, [forced]);
        Assert.All(alone["forced"], t => Assert.Equal(Forced, t));

        // Beside an unbiased greedy sequence (device sampling would serve it alone).
        var together = Run(engine, [plain, forced with { Id = new RequestId("forced-2") }]);
        Assert.All(together["forced-2"], t => Assert.Equal(Forced, t));
        Assert.Contains(together["plain"], t => t != Forced);

        var greedyFirst = together["plain"][0];
        var banned = Request("banned", SamplingParams.Greedy(1) with { LogitBias = new Dictionary<int, float> { [greedyFirst] = -100f } });
        Assert.NotEqual(greedyFirst, Run(engine, [banned])["banned"][0]);
    }

    private static GenerationRequest Request(string id, SamplingParams sampling) =>
        new() { Id = new RequestId(id), PromptTokens = [1, 403, 261], Sampling = sampling };

    private static Dictionary<string, List<int>> Run(LlmEngine engine, IReadOnlyList<GenerationRequest> requests)
    {
        var tokens = requests.ToDictionary(r => r.Id.Value, _ => new List<int>());
        foreach (var r in requests)
        {
            engine.Submit(r, u =>
            {
                Assert.Null(u.Error);
                tokens[u.Id.Value].AddRange(u.NewTokens);
            });
        }

        engine.RunUntilIdle();
        foreach (var (id, list) in tokens)
        {
            Assert.True(list.Count > 0, $"{id} produced nothing");
        }

        return tokens;
    }
}
