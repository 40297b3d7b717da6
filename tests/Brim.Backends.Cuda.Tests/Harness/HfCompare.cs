using System.Text.Json;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// Compares CudaBackend with Hugging Face transformers on a checkpoint written by scripts/gpu/hf_reference.py:
/// the prompts prefill as one ragged batch, then the reference's greedy tokens are fed back (teacher forcing) for
/// every step, comparing logits each step; finally Brim decodes greedily on its own and must produce HF's tokens.
/// </summary>
internal static class HfCompare
{
    public static int Run(string directory, TextWriter log)
    {
        var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "reference.json"))).RootElement;
        var prompts = reference.GetProperty("prompts").EnumerateArray().Select(p => p.EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray();
        var tokens = reference.GetProperty("tokens").EnumerateArray().Select(p => p.EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray();
        var steps = tokens[0].Length;
        using var model = ModelLoader.Load(Path.Combine(directory, "model"));
        var vocab = model.Config.VocabSize;
        var logits = ReadFloats(Path.Combine(directory, "logits.f32"), steps * prompts.Length * vocab);
        float[] Expected(int step, int sequence) => logits.AsSpan(((step * prompts.Length) + sequence) * vocab, vocab).ToArray();

        using var backend = new CudaBackend(model);
        const int blockSize = 16;
        var blocksPerSequence = (prompts.Max(p => p.Length) + steps + blockSize) / blockSize;
        backend.AllocateKvCache(2 * prompts.Length * blocksPerSequence, blockSize);
        var errors = new List<double>();
        int argmaxMismatches = 0, freeRunMismatches = 0;
        var output = new ForwardOutput(vocab);

        for (var pass = 0; pass < 2; pass++)
        {
            var teacher = pass == 0;
            var tableBase = pass * prompts.Length * blocksPerSequence;
            int[] Table(int s) => Enumerable.Range(tableBase + (s * blocksPerSequence), blocksPerSequence).ToArray();
            var ids = prompts.SelectMany(p => p).ToArray();
            var start = 0;
            var slices = prompts.Select((p, s) => { var slice = new SequenceSlice(start, p.Length, 0, Table(s), true); start += p.Length; return slice; }).ToArray();
            var greedy = teacher ? null : Enumerable.Repeat(new DeviceSamplingRow(0f, 0, 1f, 0f, 0f), prompts.Length).ToArray();
            backend.Forward(new ForwardBatch(ids, slices, blockSize, greedy), output);
            var generated = prompts.Select(_ => new List<int>()).ToArray();
            for (var step = 0; ; step++)
            {
                for (var s = 0; s < prompts.Length; s++)
                {
                    if (teacher)
                    {
                        var actual = output.LogitRow(s);
                        errors.Add(Compare.RelativeL2(actual, Expected(step, s)));
                        argmaxMismatches += Compare.ArgMax(actual) == tokens[s][step] ? 0 : 1;
                    }
                    else
                    {
                        generated[s].Add(output.SampledTokens[s]);
                    }
                }

                if (step + 1 == steps)
                {
                    break;
                }

                var feed = Enumerable.Range(0, prompts.Length).Select(s => teacher ? tokens[s][step] : generated[s][^1]).ToArray();
                var decode = Enumerable.Range(0, prompts.Length).Select(s => new SequenceSlice(s, 1, prompts[s].Length + step, Table(s), true)).ToArray();
                backend.Forward(new ForwardBatch(feed, decode, blockSize, greedy), output);
            }

            if (!teacher)
            {
                for (var s = 0; s < prompts.Length; s++)
                {
                    var firstDifference = Enumerable.Range(0, steps).FirstOrDefault(i => generated[s][i] != tokens[s][i], -1);
                    if (firstDifference >= 0)
                    {
                        freeRunMismatches++;
                        log.WriteLine($"  sequence {s}: greedy tokens differ from step {firstDifference} (brim {generated[s][firstDifference]}, hf {tokens[s][firstDifference]})");
                    }
                }
            }
        }

        var name = Path.GetFileName(directory.TrimEnd('/'));
        var ok = argmaxMismatches == 0 && freeRunMismatches == 0 && errors.Max() < 5e-2;
        log.WriteLine($"| {name} | {prompts.Length} prompts ({string.Join("/", prompts.Select(p => p.Length))} tokens), {steps} steps | max rel err {errors.Max():E2} | mean {errors.Average():E2} | teacher-forced argmax mismatches {argmaxMismatches} | free-run sequences differing {freeRunMismatches} | {(ok ? "PASS" : "FAIL")} |");
        return ok ? 0 : 1;
    }

    private static float[] ReadFloats(string path, int count)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != count * sizeof(float))
        {
            throw new InvalidDataException($"{path} holds {bytes.Length} bytes, expected {count} floats");
        }

        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }
}
