using Brim.Backends.Cpu.Parallel;
using Brim.Models;

namespace Brim.Backends.Cpu.Tests.Parallel;

/// <summary>Greedy decoding of the bundled model over two simulated ranks: the llama2.c reference text, token for token the unsharded one's.</summary>
public sealed class TensorParallelGreedyTests
{
    private static readonly string ModelDirectory = Path.Combine(AppContext.BaseDirectory, "Models", "stories260K");

    [Fact]
    public void Forward_GreedyFromBosOverTwoRanks_ReproducesUnshardedAndLlama2cOutput()
    {
        using var model = ModelLoader.Load(Path.Combine(ModelDirectory, "stories260K.bin"));
        var options = new CpuBackendOptions { ThreadCount = 2 };
        using var reference = CpuBackend.Create(model, options);
        using var sharded = TensorParallelCpuBackend.Create(model, worldSize: 2, options);

        var unshardedTokens = Stories260KTests.Greedy(reference);
        var shardedTokens = Stories260KTests.Greedy(sharded);

        Assert.True(shardedTokens.Count > 36, $"only {shardedTokens.Count} tokens before BOS");
        Assert.Equal(unshardedTokens, shardedTokens);
        var text = new Llama2cPieces(Path.Combine(ModelDirectory, "tok512.bin"), sharded.VocabSize).Decode(shardedTokens);
        Assert.Equal(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "stories260K_expected.txt")), text);
    }
}
