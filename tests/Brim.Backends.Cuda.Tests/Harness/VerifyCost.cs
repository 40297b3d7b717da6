using System.Diagnostics;
using System.Globalization;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// What verifying a speculative draft costs on the device, at Llama-3.1-8B shape with dummy weights: a plain decode
/// step (one token a sequence, device sampling, CUDA graphs: the engine's path) against a verify step of 1 + k tokens a
/// sequence with logits for all of them on the host (the engine's path for drafts), at contexts of 512. From the ratio r
/// it prints the acceptance rate α at which speculation breaks even: a draft of k tokens accepted position by position
/// with probability α yields (1 - α^(k+1)) / (1 - α) tokens a step, which must exceed r (proposing assumed free, as
/// prompt lookup nearly is). Random weights accept nothing, so this measures cost only, never a speedup.
/// </summary>
internal static class VerifyCost
{
    public static int Run(TextWriter log, int[] batches, int[] drafts)
    {
        var config = DecodeBench.Llama31_8B();
        using var weights = new DummyWeightSource(config, 1234);
        using var backend = new CudaBackend(config, weights);
        const int blockSize = 16, context = 512, repeats = 10;
        var perSequence = (context + drafts.Max() + 1 + blockSize - 1) / blockSize;
        backend.AllocateKvCache(batches.Max() * perSequence, blockSize);
        var tables = Enumerable.Range(0, batches.Max()).Select(s => Enumerable.Range(s * perSequence, perSequence).ToArray()).ToArray();
        var random = new Random(5);
        var output = new ForwardOutput(config.VocabSize);
        for (var first = 0; first < tables.Length; first += 8)
        {
            var count = Math.Min(8, tables.Length - first);
            var ids = Enumerable.Range(0, count * context).Select(_ => random.Next(config.VocabSize)).ToArray();
            backend.Forward(new ForwardBatch(ids, [.. Enumerable.Range(0, count).Select(i => new SequenceSlice(i * context, context, 0, tables[first + i], true))], blockSize), output);
        }

        log.WriteLine($"# verify cost, Llama-3.1-8B shape (dummy bf16) on {backend.DeviceName}, context {context}; ratio = verify step / plain decode step; α* = break-even acceptance");
        log.WriteLine("| batch | plain step (ms) | " + string.Join(" | ", drafts.Select(k => $"k={k}: ratio, α*")) + " |");
        log.WriteLine("|---|---:|" + string.Concat(drafts.Select(_ => "---:|")));
        foreach (var batch in batches)
        {
            var greedy = Enumerable.Repeat(new DeviceSamplingRow(0f, 0, 1f, 0f, 0.5f), batch).ToArray();
            var plain = Time(repeats, () => backend.Forward(
                new ForwardBatch([.. Enumerable.Range(0, batch).Select(i => random.Next(config.VocabSize))], [.. Enumerable.Range(0, batch).Select(i => new SequenceSlice(i, 1, context, tables[i], true))], blockSize, greedy),
                output));
            var cells = drafts.Select(k =>
            {
                var rows = k + 1;
                var verify = Time(repeats, () => backend.Forward(
                    new ForwardBatch([.. Enumerable.Range(0, batch * rows).Select(_ => random.Next(config.VocabSize))], [.. Enumerable.Range(0, batch).Select(i => new SequenceSlice(i * rows, rows, context, tables[i], true, rows))], blockSize),
                    output));
                var ratio = verify / plain;
                return string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}, {BreakEven(k, ratio)}");
            });
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {batch} | {plain:F2} | {string.Join(" | ", cells)} |"));
            log.Flush();
        }

        return 0;
    }

    /// <summary>The acceptance α where (1 - α^(k+1)) / (1 - α) = ratio (bisection), or "never" where even α = 1 falls short.</summary>
    internal static string BreakEven(int k, double ratio)
    {
        static double Expected(int k, double a) => a >= 1 ? k + 1 : (1 - Math.Pow(a, k + 1)) / (1 - a);
        if (Expected(k, 1) < ratio)
        {
            return "never";
        }

        double low = 0, high = 1;
        for (var i = 0; i < 50; i++)
        {
            var mid = (low + high) / 2;
            (low, high) = Expected(k, mid) < ratio ? (mid, high) : (low, mid);
        }

        return high.ToString("F2", CultureInfo.InvariantCulture);
    }

    private static double Time(int repeats, Action step)
    {
        step();
        step();
        step(); // warm-up, and the graph of a decode bucket is captured on its second run
        var timer = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++)
        {
            step();
        }

        return timer.Elapsed.TotalMilliseconds / repeats;
    }
}
