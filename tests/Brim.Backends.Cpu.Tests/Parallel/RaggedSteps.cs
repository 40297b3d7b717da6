using System.Numerics.Tensors;
using Brim.Core.Execution;

namespace Brim.Backends.Cpu.Tests.Parallel;

/// <summary>
/// A fixed ragged schedule driven through several backends in lockstep, as the engine would drive one: three
/// sequences with scattered block tables; a first step of two prefill chunks (one mid-prompt, without logits), a
/// second mixing a decode token, a prompt's last chunk with two logit rows and a whole short prompt, then decode
/// steps of all three. Decode tokens are the first backend's greedy picks, so every backend sees the same inputs.
/// </summary>
internal static class RaggedSteps
{
    public const int BlockSize = 4;
    private const int DecodeSteps = 4;

    /// <summary>Runs the schedule on every backend (each on a fresh cache) and returns, per step, each backend's logits.</summary>
    public static List<float[][]> Run(IReadOnlyList<IModelBackend> backends, int vocab, int seed = 3)
    {
        var random = new Random(seed);
        var blocks = Enumerable.Range(0, 24).OrderBy(_ => random.Next()).ToArray();
        int[][] tables = [blocks[..5], blocks[5..10], blocks[10..15]];
        int[][] prompts = [TestModels.RandomTokens(random, 11, vocab), TestModels.RandomTokens(random, 6, vocab), TestModels.RandomTokens(random, 3, vocab)];
        foreach (var backend in backends)
        {
            backend.AllocateKvCache(blocks.Length, BlockSize);
        }

        var results = new List<float[][]>();
        var outputs = backends.Select(b => new ForwardOutput(vocab)).ToArray();
        int[] positions = [0, 0, 0];
        int[] next = [0, 0, 0];
        for (var step = 0; step < 2 + DecodeSteps; step++)
        {
            Chunk[] plan = step switch
            {
                0 => [new Chunk(0, prompts[0][..7], 0, false, 1), new Chunk(1, prompts[1], 0, true, 1)],
                1 => [new Chunk(1, [next[1]], 6, true, 1), new Chunk(0, prompts[0][7..], 7, true, 2), new Chunk(2, prompts[2], 0, true, 1)],
                _ => Enumerable.Range(0, 3).Select(s => new Chunk(s, [next[s]], positions[s], true, 1)).ToArray(),
            };

            var tokenIds = plan.SelectMany(p => p.Tokens).ToArray();
            var slices = new SequenceSlice[plan.Length];
            var start = 0;
            for (var i = 0; i < plan.Length; i++)
            {
                var (s, tokens, position, logits, rows) = plan[i];
                slices[i] = new SequenceSlice(start, tokens.Length, position, tables[s], logits, rows);
                start += tokens.Length;
                positions[s] = position + tokens.Length;
            }

            var batch = new ForwardBatch(tokenIds, slices, BlockSize);
            var logitsOfStep = new float[backends.Count][];
            for (var b = 0; b < backends.Count; b++)
            {
                backends[b].Forward(batch, outputs[b]);
                logitsOfStep[b] = outputs[b].Logits.AsSpan(0, batch.LogitRows * vocab).ToArray();
            }

            results.Add(logitsOfStep);

            // Each sampled slice's next token is the greedy pick of its last logit row on the first backend.
            var row = 0;
            foreach (var (s, _, _, logits, rows) in plan)
            {
                if (logits)
                {
                    row += rows;
                    next[s] = TensorPrimitives.IndexOfMax(logitsOfStep[0].AsSpan((row - 1) * vocab, vocab));
                }
            }
        }

        return results;
    }

    private readonly record struct Chunk(int Sequence, int[] Tokens, int Start, bool Logits, int Rows);
}
