using System.Numerics.Tensors;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cpu.Tests;

/// <summary>The bundled llama2.c model against the output published by llama2.c itself (a reference no one here wrote).</summary>
public sealed class Stories260KTests
{
    private const int Bos = 1;
    private static readonly string ModelDirectory = Path.Combine(AppContext.BaseDirectory, "Models", "stories260K");

    [Fact]
    public void Forward_GreedyFromBos_ReproducesLlama2cExpectedOutput()
    {
        using var model = ModelLoader.Load(Path.Combine(ModelDirectory, "stories260K.bin"));
        using var backend = CpuBackend.Create(model, new CpuBackendOptions { ThreadCount = 2 });
        var generated = Greedy(backend);
        var text = new Llama2cPieces(Path.Combine(ModelDirectory, "tok512.bin"), backend.VocabSize).Decode(generated);
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "stories260K_expected.txt"));
        Assert.Equal(expected, text);
    }

    /// <summary>llama2.c's run.c: positions 0..199, each forward's argmax the next token; it stops early if BOS comes back.</summary>
    internal static List<int> Greedy(IModelBackend backend)
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
