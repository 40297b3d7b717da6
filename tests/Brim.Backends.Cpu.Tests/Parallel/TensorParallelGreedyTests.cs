using System.Numerics.Tensors;
using Brim.Backends.Cpu.Parallel;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cpu.Tests.Parallel;

/// <summary>Greedy decoding of the bundled model over two simulated ranks: the llama2.c reference text, token for token the unsharded one's.</summary>
public sealed class TensorParallelGreedyTests
{
    private const int Bos = 1;
    private static readonly string ModelDirectory = Path.Combine(AppContext.BaseDirectory, "Models", "stories260K");

    [Fact]
    public void Forward_GreedyFromBosOverTwoRanks_ReproducesUnshardedAndLlama2cOutput()
    {
        using var model = ModelLoader.Load(Path.Combine(ModelDirectory, "stories260K.bin"));
        var options = new CpuBackendOptions { ThreadCount = 2 };
        using var reference = CpuBackend.Create(model, options);
        using var sharded = TensorParallelCpuBackend.Create(model, worldSize: 2, options);

        var unshardedTokens = Greedy(reference);
        var shardedTokens = Greedy(sharded);

        Assert.True(shardedTokens.Count > 36, $"only {shardedTokens.Count} tokens before BOS");
        Assert.Equal(unshardedTokens, shardedTokens);
        var text = new Llama2cPieces(Path.Combine(ModelDirectory, "tok512.bin"), sharded.VocabSize).Decode(shardedTokens);
        Assert.Equal(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "stories260K_expected.txt")), text);
    }

    /// <summary>llama2.c's run.c: one token per step from BOS, up to 200 positions or until BOS comes back.</summary>
    private static List<int> Greedy(IModelBackend backend)
    {
        const int blockSize = 16;
        const int steps = 200;
        backend.AllocateKvCache(numBlocks: (steps / blockSize) + 1, blockSize);
        int[] blockTable = [.. Enumerable.Range(0, (steps / blockSize) + 1).Reverse()];
        var output = new ForwardOutput(backend.VocabSize);
        var generated = new List<int>();
        var token = Bos;
        for (var position = 0; position < steps; position++)
        {
            var slice = new SequenceSlice(0, 1, position, blockTable, NeedsLogits: true);
            backend.Forward(new ForwardBatch([token], [slice], blockSize), output);
            token = TensorPrimitives.IndexOfMax(output.LogitRow(0));
            if (token == Bos)
            {
                break;
            }

            generated.Add(token);
        }

        return generated;
    }
}
