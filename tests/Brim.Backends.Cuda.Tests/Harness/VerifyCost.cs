using System.Diagnostics;
using System.Globalization;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// What verifying a speculative draft costs on the device, at Llama-3.1-8B shape with dummy weights: a plain decode
/// step (one token a sequence, device sampling, CUDA graphs: the engine's path) against a verify step of 1 + k tokens a
/// sequence two ways: the old path (logits of every row copied to the host, eager) and the engine's path now for
/// point-mass drafts and greedy requests (every row sampled on the device, the step replayed as a CUDA graph of its row
/// bucket), at contexts of 512. From the ratio r
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
        log.WriteLine("# old: every row's logits copied to the host, eager (the engine's verify path before device sampling); new: rows sampled on the device, CUDA graph (the engine's path for prompt lookup and greedy requests now)");
        log.WriteLine("| batch | plain step (ms) | k | old verify (ms) | old ratio | old α* | new verify (ms) | new ratio | new α* |");
        log.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var batch in batches)
        {
            var greedy = Enumerable.Repeat(new DeviceSamplingRow(0f, 0, 1f, 0f, 0.5f), batch).ToArray();
            var plain = Time(repeats, () => backend.Forward(
                new ForwardBatch([.. Enumerable.Range(0, batch).Select(i => random.Next(config.VocabSize))], [.. Enumerable.Range(0, batch).Select(i => new SequenceSlice(i, 1, context, tables[i], true))], blockSize, greedy),
                output));
            foreach (var k in drafts)
            {
                var rows = k + 1;
                ForwardBatch Verify(bool device) => new(
                    [.. Enumerable.Range(0, batch * rows).Select(_ => random.Next(config.VocabSize))],
                    [.. Enumerable.Range(0, batch).Select(i => new SequenceSlice(i * rows, rows, context, tables[i], true, rows))],
                    blockSize,
                    device ? Enumerable.Repeat(new DeviceSamplingRow(0f, 0, 1f, 0f, 0.5f), batch * rows).ToArray() : null);

                backend.VerifyGraphs = false;
                var old = Time(repeats, () => backend.Forward(Verify(device: false), output));
                backend.VerifyGraphs = true;
                var now = Time(repeats, () => backend.Forward(Verify(device: true), output));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {batch} | {plain:F2} | {k} | {old:F2} | {old / plain:F2} | {BreakEven(k, old / plain)} | {now:F2} | {now / plain:F2} | {BreakEven(k, now / plain)} |"));
                log.Flush();
            }
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
