using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// The accuracy cost of the FP8 KV cache and of quantized weights, measured on the checkpoints scripts/gpu/hf_reference.py
/// writes: teacher-forced on transformers' float32 greedy tokens, the log-probabilities of Brim with a bf16 cache, with
/// an FP8 cache, and with fp8 / int8 / int4 weights (quantized on load, on the device) are compared with each other and
/// with transformers' float32 and bf16 runs. The noise floor is transformers' own bf16-vs-float32 drift on the same
/// steps; the FP8 cache should stay within about twice that. Reported per model: mean and max |Δ log p| of the
/// reference's chosen token, mean |Δ log p| over the reference's top 5, and how often the argmax agrees.
/// </summary>
internal static class KvCacheDrift
{
    public static int Run(TextWriter log, IReadOnlyList<string> directories)
    {
        log.WriteLine("| model | compared | chosen token mean abs d-logprob | max | top-5 mean abs d-logprob | argmax agreement |");
        log.WriteLine("|---|---|---:|---:|---:|---:|");
        var worstRatio = 0.0;
        foreach (var directory in directories)
        {
            var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "reference.json"))).RootElement;
            var prompts = reference.GetProperty("prompts").EnumerateArray().Select(p => p.EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray();
            var tokens = reference.GetProperty("tokens").EnumerateArray().Select(p => p.EnumerateArray().Select(t => t.GetInt32()).ToArray()).ToArray();
            using var model = ModelLoader.Load(Path.Combine(directory, "model"));
            var vocab = model.Config.VocabSize;
            var steps = tokens[0].Length;
            var count = steps * prompts.Length * vocab;
            var hf32 = Rows(HfCompare.ReadFloats(Path.Combine(directory, "logits.f32"), count), steps, prompts.Length, vocab);
            var hf16 = Rows(HfCompare.ReadFloats(Path.Combine(directory, "logits_bf16.f32"), count), steps, prompts.Length, vocab);
            var bf16Cache = TeacherForced(model, prompts, tokens, KvCacheDType.Auto);
            var fp8Cache = TeacherForced(model, prompts, tokens, KvCacheDType.Fp8);
            var name = Path.GetFileName(directory.TrimEnd('/'));
            var floor = Drift(hf16, hf32, tokens);
            Row(log, name, "transformers bf16 vs float32 (noise floor)", floor);
            Row(log, name, "Brim bf16 KV vs transformers float32", Drift(bf16Cache, hf32, tokens));
            var fp8VsReference = Drift(fp8Cache, hf32, tokens);
            Row(log, name, "Brim FP8 KV vs transformers float32", fp8VsReference);
            Row(log, name, "Brim FP8 KV vs Brim bf16 KV", Drift(fp8Cache, bf16Cache, tokens));
            worstRatio = Math.Max(worstRatio, fp8VsReference.ChosenMean / floor.ChosenMean);
            foreach (var weights in new[] { WeightQuantization.Fp8, WeightQuantization.Int8, WeightQuantization.Int4 })
            {
                using var quantized = ModelLoader.Load(Path.Combine(directory, "model"), quantization: weights);
                var run = TeacherForced(quantized, prompts, tokens, KvCacheDType.Auto);
                Row(log, name, $"Brim {weights.Name()} weights ({quantized.Quantization!.Description}) vs transformers float32", Drift(run, hf32, tokens));
                if (weights == WeightQuantization.Fp8)
                {
                    // The decode steps above stream the weights (quant_gemv: bf16 activations); large batches run W8A8,
                    // activations rounded to E4M3 per token too. Every product on that path, for its accuracy cost.
                    var products = 0L;
                    var w8a8 = TeacherForced(
                        quantized, prompts, tokens, KvCacheDType.Auto,
                        configure: backend => (backend.QuantGemvMaxRows, backend.QuantMmaMaxRows) = (0, 0),
                        inspect: backend => products = backend.Fp8GemmProducts);
                    Row(log, name, $"Brim fp8 weights, W8A8 (activations E4M3 per token; {products} products) on every step, vs transformers float32", Drift(w8a8, hf32, tokens));
                }
            }
        }

        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst ratio of the FP8 cache's chosen-token drift to the noise floor: {worstRatio:F2}x (target: within about 2x)"));
        return 0;
    }

    private readonly record struct DriftStats(double ChosenMean, double ChosenMax, double TopFiveMean, double ArgmaxAgreement);

    private static void Row(TextWriter log, string model, string what, DriftStats d) => log.WriteLine(string.Create(
        CultureInfo.InvariantCulture, $"| {model} | {what} | {d.ChosenMean:E2} | {d.ChosenMax:E2} | {d.TopFiveMean:E2} | {d.ArgmaxAgreement:P1} |"));

    /// <summary>Drift of <paramref name="actual"/> from <paramref name="expected"/> (rows [step][prompt]), at the reference's tokens.</summary>
    private static DriftStats Drift(float[][][] actual, float[][][] expected, int[][] tokens)
    {
        double chosenSum = 0, chosenMax = 0, topSum = 0;
        int rows = 0, agree = 0, topCount = 0;
        for (var step = 0; step < expected.Length; step++)
        {
            for (var s = 0; s < expected[step].Length; s++)
            {
                var a = LogSoftmax(actual[step][s]);
                var e = LogSoftmax(expected[step][s]);
                var chosen = Math.Abs(a[tokens[s][step]] - e[tokens[s][step]]);
                chosenSum += chosen;
                chosenMax = Math.Max(chosenMax, chosen);
                foreach (var t in Enumerable.Range(0, e.Length).OrderByDescending(i => e[i]).Take(5))
                {
                    topSum += Math.Abs(a[t] - e[t]);
                    topCount++;
                }

                agree += TensorPrimitives.IndexOfMax<double>(a) == TensorPrimitives.IndexOfMax<double>(e) ? 1 : 0;
                rows++;
            }
        }

        return new DriftStats(chosenSum / rows, chosenMax, topSum / topCount, (double)agree / rows);
    }

    /// <summary>Prefill every prompt as one ragged batch, then feed the reference's tokens; logits [step][prompt].</summary>
    private static float[][][] TeacherForced(
        LoadedModel model, int[][] prompts, int[][] tokens, KvCacheDType dtype, Action<CudaBackend>? configure = null, Action<CudaBackend>? inspect = null)
    {
        using var backend = new CudaBackend(model, new CudaBackendOptions { KvCacheDType = dtype });
        configure?.Invoke(backend);
        const int blockSize = 16;
        var steps = tokens[0].Length;
        var perSequence = (prompts.Max(p => p.Length) + steps + blockSize) / blockSize;
        backend.AllocateKvCache(prompts.Length * perSequence, blockSize);
        int[] Table(int s) => Enumerable.Range(s * perSequence, perSequence).ToArray();
        var output = new ForwardOutput(model.Config.VocabSize);
        var start = 0;
        var slices = prompts.Select((p, s) => { var slice = new SequenceSlice(start, p.Length, 0, Table(s), true); start += p.Length; return slice; }).ToArray();
        backend.Forward(new ForwardBatch(prompts.SelectMany(p => p).ToArray(), slices, blockSize), output);
        var rows = new float[steps][][];
        for (var step = 0; ; step++)
        {
            rows[step] = Enumerable.Range(0, prompts.Length).Select(s => output.LogitRow(s).ToArray()).ToArray();
            if (step + 1 == steps)
            {
                inspect?.Invoke(backend);
                return rows;
            }

            var feed = Enumerable.Range(0, prompts.Length).Select(s => tokens[s][step]).ToArray();
            var decode = Enumerable.Range(0, prompts.Length).Select(s => new SequenceSlice(s, 1, prompts[s].Length + step, Table(s), true)).ToArray();
            backend.Forward(new ForwardBatch(feed, decode, blockSize), output);
        }
    }

    private static double[] LogSoftmax(float[] logits)
    {
        var max = logits.Max();
        var sum = logits.Sum(v => Math.Exp(v - max));
        var log = Math.Log(sum) + max;
        return logits.Select(v => v - log).ToArray();
    }

    private static float[][][] Rows(float[] flat, int steps, int prompts, int vocab)
        => Enumerable.Range(0, steps).Select(step => Enumerable.Range(0, prompts).Select(s => flat.AsSpan(((step * prompts) + s) * vocab, vocab).ToArray()).ToArray()).ToArray();
}
