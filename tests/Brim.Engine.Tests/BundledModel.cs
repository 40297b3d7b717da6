using Brim.Backends.Cpu;
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

    /// <summary>An engine over a fresh CPU backend (its own KV cache) of the bundled model.</summary>
    public static LlmEngine CreateEngine(EngineOptions? options = null, int threads = 2)
    {
        var backend = CpuBackend.Create(Model, new CpuBackendOptions { ThreadCount = threads });
        options ??= new EngineOptions { NumKvBlocks = 256, CheckIntegrityEachStep = true };
        return new LlmEngine(backend, Tokenizer, options with { CheckIntegrityEachStep = true }, Model.Config.MaxPositions);
    }
}
