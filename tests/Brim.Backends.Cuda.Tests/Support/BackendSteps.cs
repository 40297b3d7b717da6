using Brim.Core.Execution;

namespace Brim.Backends.Cuda.Tests.Support;

/// <summary>Forward steps run straight on a backend, for tests that compare two backends' logits.</summary>
internal static class BackendSteps
{
    /// <summary>The logits of <paramref name="steps"/> decode steps of one token per sequence, each sequence in its own block.</summary>
    public static float[][] Decode(CudaBackend backend, int sequences, int steps) => DecodeOn(backend, sequences, steps);

    /// <summary>As <see cref="Decode"/>, on any backend (the tensor-parallel one).</summary>
    public static float[][] DecodeOn(IModelBackend backend, int sequences, int steps)
    {
        backend.AllocateKvCache(sequences, 16);
        var vocab = backend.VocabSize;
        var output = new ForwardOutput(vocab);
        var logits = new float[steps][];
        for (var step = 0; step < steps; step++)
        {
            var tokens = Enumerable.Range(0, sequences).Select(s => ((s * 13) + (step * 7)) % (vocab - 3) + 1).ToArray();
            var slices = Enumerable.Range(0, sequences).Select(s => new SequenceSlice(s, 1, step, new[] { s }, true)).ToArray();
            backend.Forward(new ForwardBatch(tokens, slices, 16), output);
            logits[step] = Enumerable.Range(0, sequences).SelectMany(r => output.LogitRow(r).ToArray()).ToArray();
        }

        return logits;
    }
}
