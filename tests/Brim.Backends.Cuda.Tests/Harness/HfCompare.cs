using System.Text.Json;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// Compares CudaBackend with Hugging Face transformers on a checkpoint written by scripts/gpu/hf_reference.py:
/// the prompts prefill as one ragged batch, then the reference's greedy tokens are fed back (teacher forcing) for
/// every step, comparing logits each step; finally Brim decodes greedily on its own and must produce HF's tokens.
/// Random models have near-ties (top-1/top-2 logit margins of 1e-3 occur among a thousand tokens), which bf16
/// activations cannot resolve: a token may differ only where the reference's own margin is below the measured
/// absolute logit error of that row; every difference is printed with its margin.
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
        int argmaxMismatches = 0, freeRunMismatches = 0, unexplained = 0;
        var tolerance = new Dictionary<(int Step, int Sequence), double>();
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
                        var expected = Expected(step, s);
                        errors.Add(Compare.RelativeL2(actual, expected));
                        var absolute = MaxAbsoluteDifference(actual, expected);
                        tolerance[(step, s)] = 2 * absolute;
                        var brim = Compare.ArgMax(actual);
                        if (brim != tokens[s][step])
                        {
                            argmaxMismatches++;
                            var margin = TopTwoMargin(expected);
                            unexplained += margin < 2 * absolute ? 0 : 1;
                            log.WriteLine($"  sequence {s} step {step}: argmax brim {brim}, hf {tokens[s][step]}; hf top-2 margin {margin:E2}, max abs logit error {absolute:E2}");
                        }
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
                        var margin = TopTwoMargin(Expected(firstDifference, s));
                        var allowed = tolerance[(firstDifference, s)];
                        unexplained += margin < allowed ? 0 : 1;
                        log.WriteLine($"  sequence {s}: free-run greedy tokens differ from step {firstDifference} (brim {generated[s][firstDifference]}, hf {tokens[s][firstDifference]}); hf top-2 margin there {margin:E2} (near-tie below {allowed:E2}: {margin < allowed})");
                    }
                }
            }
        }

        var name = Path.GetFileName(directory.TrimEnd('/'));
        var ok = unexplained == 0 && errors.Max() < 5e-2;
        log.WriteLine($"| {name} | {prompts.Length} prompts ({string.Join("/", prompts.Select(p => p.Length))} tokens), {steps} steps | max rel err {errors.Max():E2} | mean {errors.Average():E2} | teacher-forced argmax mismatches {argmaxMismatches} | free-run sequences differing {freeRunMismatches} | differences not at near-ties {unexplained} | {(ok ? "PASS" : "FAIL")} |");
        return ok ? 0 : 1;
    }

    private static double MaxAbsoluteDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var max = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        }

        return max;
    }

    private static double TopTwoMargin(ReadOnlySpan<float> logits)
    {
        float first = float.NegativeInfinity, second = float.NegativeInfinity;
        foreach (var v in logits)
        {
            if (v > first)
            {
                second = first;
                first = v;
            }
            else if (v > second)
            {
                second = v;
            }
        }

        return first - second;
    }

    internal static float[] ReadFloats(string path, int count)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != count * sizeof(float))
        {
            throw new InvalidDataException($"{path} holds {bytes.Length} bytes, expected {count} floats");
        }

        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }
}
