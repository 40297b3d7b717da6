using Brim.Backends.Cpu;
using Brim.Models;
using Brim.Tokenization;

namespace Brim.Engine.Tests;

/// <summary>The bundled stories260K model, loaded once per test run (it is tiny and read-only).</summary>
internal static class BundledModel
{
    private static readonly Lazy<(LoadedModel Model, ITokenizer Tokenizer)> Loaded = new(() =>
    {
        var dir = Path.Combine(RepoRoot(), "models", "stories260K");
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

    public static string RepoRoot()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "Brim.slnx")))
            {
                return dir;
            }
        }

        throw new DirectoryNotFoundException("Brim.slnx not found above " + AppContext.BaseDirectory);
    }
}
