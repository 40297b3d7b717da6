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
        const int blockSize = 16;
        const int steps = 200;
        backend.AllocateKvCache(numBlocks: steps / blockSize + 1, blockSize);
        int[] blockTable = [.. Enumerable.Range(0, steps / blockSize + 1).Reverse()];
        var output = new ForwardOutput(backend.VocabSize);

        // run.c: positions 0..steps-1, each forward samples the next token; it stops early if BOS comes back.
        var generated = new List<int>();
        var token = Bos;
        for (var position = 0; position < steps; position++)
        {
            var slice = new SequenceSlice(0, 1, position, blockTable, NeedsLogits: true);
            backend.Forward(new ForwardBatch([token], [slice], blockSize), output);
            var next = TensorPrimitives.IndexOfMax(output.LogitRow(0));
            if (next == Bos)
            {
                break;
            }

            generated.Add(next);
            token = next;
        }

        var text = new Llama2cPieces(Path.Combine(ModelDirectory, "tok512.bin"), backend.VocabSize).Decode(generated);
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "stories260K_expected.txt"));
        Assert.Equal(expected, text);
    }
}
