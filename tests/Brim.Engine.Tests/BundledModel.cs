using Brim.Backends.Cpu;
using Brim.Core;
using Brim.Core.Execution;
using Brim.Models;
using Brim.Tests;
using Brim.Tokenization;

namespace Brim.Engine.Tests;

/// <summary>The bundled stories260K model, loaded once per test run (it is tiny and read-only).</summary>
internal static class BundledModel
{
    private static readonly Lazy<(LoadedModel Model, ITokenizer Tokenizer)> Loaded = new(() =>
    {
        var dir = RepoPaths.BundledModel;
        return (ModelLoader.Load(dir), TokenizerLoader.Load(dir));
    });

    public static LoadedModel Model => Loaded.Value.Model;

    public static ITokenizer Tokenizer => Loaded.Value.Tokenizer;

    /// <summary>An engine over a fresh CPU backend (its own KV cache, float32 unless <paramref name="kvCacheDType"/> says) of the bundled model.</summary>
    /// <param name="wrap">Decorates the backend (e.g. <see cref="DeviceSamplingCpuBackend"/>); null leaves it as is.</param>
    public static LlmEngine CreateEngine(
        EngineOptions? options = null, int threads = 2, KvCacheDType kvCacheDType = KvCacheDType.Auto, Func<IModelBackend, IModelBackend>? wrap = null)
    {
        IModelBackend backend = CpuBackend.Create(Model, new CpuBackendOptions { ThreadCount = threads, KvCacheDType = kvCacheDType });
        backend = wrap?.Invoke(backend) ?? backend;
        options ??= new EngineOptions { NumKvBlocks = 256, CheckIntegrityEachStep = true };
        return new LlmEngine(backend, Tokenizer, options with { CheckIntegrityEachStep = true }, Model.Config.MaxPositions);
    }

    /// <summary>Submits every request, runs the engine until idle and returns each request's tokens (none may fail).</summary>
    public static Dictionary<RequestId, int[]> RunTogether(LlmEngine engine, IReadOnlyList<GenerationRequest> requests) =>
        RunWithLogprobs(engine, requests).ToDictionary(kv => kv.Key, kv => kv.Value.Tokens);

    /// <summary>As <see cref="RunTogether"/>, with each request's logprobs (empty where it asked for none).</summary>
    public static Dictionary<RequestId, (int[] Tokens, List<TokenLogprobs> Logprobs)> RunWithLogprobs(LlmEngine engine, IReadOnlyList<GenerationRequest> requests)
    {
        var results = requests.ToDictionary(r => r.Id, _ => (Tokens: new List<int>(), Logprobs: new List<TokenLogprobs>()));
        var finished = 0;
        foreach (var r in requests)
        {
            engine.Submit(r, u =>
            {
                Assert.Null(u.Error);
                results[u.Id].Tokens.AddRange(u.NewTokens);
                results[u.Id].Logprobs.AddRange(u.Logprobs ?? []);
                finished += u.IsFinal ? 1 : 0;
            });
        }

        engine.RunUntilIdle();
        Assert.Equal(requests.Count, finished);
        return results.ToDictionary(kv => kv.Key, kv => (kv.Value.Tokens.ToArray(), kv.Value.Logprobs));
    }
}
