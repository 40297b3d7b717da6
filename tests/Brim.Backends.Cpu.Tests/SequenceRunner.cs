using Brim.Core.Execution;

namespace Brim.Backends.Cpu.Tests;

/// <summary>Drives a backend the way the engine does, for tests: one sequence, its own blocks, chunk after chunk.</summary>
internal sealed class SequenceRunner(CpuBackend backend, int[] blockTable, int blockSize)
{
    private readonly ForwardOutput _output = new(backend.VocabSize);

    public int Position { get; private set; }

    /// <summary>Runs <paramref name="tokens"/> as one slice starting at the current position; returns the last token's logits.</summary>
    public float[] Step(ReadOnlySpan<int> tokens)
    {
        var slice = new SequenceSlice(0, tokens.Length, Position, blockTable, NeedsLogits: true);
        backend.Forward(new ForwardBatch(tokens.ToArray(), [slice], blockSize), _output);
        Position += tokens.Length;
        return _output.LogitRow(0).ToArray();
    }

    /// <summary>Logits of the last token of <paramref name="tokens"/> run alone, as one chunk, on a fresh cache.</summary>
    public static float[] Alone(CpuBackend backend, int[] tokens, int blockSize)
    {
        var blocks = (tokens.Length + blockSize - 1) / blockSize;
        backend.AllocateKvCache(blocks, blockSize);
        return new SequenceRunner(backend, Enumerable.Range(0, blocks).ToArray(), blockSize).Step(tokens);
    }
}
