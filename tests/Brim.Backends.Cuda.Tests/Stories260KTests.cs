using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests;

/// <summary>The bundled llama2.c model (head_dim 8, interleaved rope, tied output) decodes the same greedy tokens on CUDA as the reference forward.</summary>
public class Stories260KTests
{
    [Fact]
    public void GreedyDecode_FromBos_MatchesReferenceTokens()
    {
        Gpu.Require();
        using var model = ModelLoader.Load(Path.Combine(AppContext.BaseDirectory, "Models", "stories260K.bin"));
        var reference = new ReferenceLlama(model.Config, model.Weights);
        using var backend = new CudaBackend(model);
        const int blockSize = 16, steps = 48;
        backend.AllocateKvCache(8, blockSize);
        var table = new[] { 5, 2, 7, 0 };
        var greedy = new[] { new DeviceSamplingRow(0f, 0, 1f, 0f, 0f) };
        var output = new ForwardOutput(model.Config.VocabSize);
        var tokens = new List<int> { 1 }; // BOS
        var expected = new List<int> { 1 };
        for (var step = 0; step < steps; step++)
        {
            var slice = new SequenceSlice(0, 1, step, table, true);
            backend.Forward(new ForwardBatch([tokens[^1]], [slice], blockSize, greedy), output);
            tokens.Add(output.SampledTokens[0]);
            var logits = reference.Logits(expected);
            expected.Add(Compare.ArgMax(logits.AsSpan((expected.Count - 1) * model.Config.VocabSize, model.Config.VocabSize)));
        }

        Assert.Equal(expected, tokens);
    }
}
