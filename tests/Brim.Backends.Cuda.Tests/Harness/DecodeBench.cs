using Brim.Backends.Cuda;
using System.Diagnostics;
using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Interop;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// Decode throughput of CudaBackend.Forward at Llama-3.1-8B shape with dummy weights: each batch prefills 128-token
/// prompts, then decodes 128 steps (contexts 128 → 256) with greedy device sampling. The floor of a step is
/// (weight bytes + KV bytes read) / measured copy bandwidth; tokens/s is compared with batch / floor. Each batch's
/// prefill is timed with the per-row paged attention and with the tensor-core prefill attention (second run of each),
/// and a last table times long-prompt prefill steps of 16,384 tokens both ways.
/// </summary>
internal static class DecodeBench
{
    public static ModelConfig Llama31_8B() => new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 4096,
        IntermediateSize = 14336,
        NumLayers = 32,
        NumHeads = 32,
        NumKvHeads = 8,
        HeadDim = 128,
        VocabSize = 128256,
        MaxPositions = 131072,
        RopeTheta = 500000,
        RopeScaling = new Llama3RopeScaling(8, 1, 4, 8192),
        RmsNormEps = 1e-5f,
    };

    public static int Run(TextWriter log, int[] batchSizes, bool graphs)
    {
        double copyGBps;
        using (var device = CudaDevice.Open(0))
        using (var stream = new CudaStream(device))
        {
            copyGBps = Ceilings.Measure(device, stream).CopyGBps;
        }

        var config = Llama31_8B();
        var load = Stopwatch.StartNew();
        using var weights = new DummyWeightSource(config, 1234);
        using var backend = new CudaBackend(config, weights, new CudaBackendOptions { UseCudaGraphs = graphs });
        log.WriteLine($"# decode, Llama-3.1-8B shape, dummy bf16 weights ({backend.WeightBytes / 1e9:F2} GB) on {backend.DeviceName}, loaded in {load.Elapsed.TotalSeconds:F1} s, CUDA graphs {(graphs ? "on" : "off")}");
        log.WriteLine($"device copy bandwidth {copyGBps:F0} GB/s");
        const int blockSize = 16, prompt = 128, steps = 128;
        var maxBatch = batchSizes.Max();
        var blocksPerSequence = (prompt + steps + blockSize - 1) / blockSize;
        backend.AllocateKvCache(maxBatch * blocksPerSequence, blockSize);
        var kvBytesPerToken = (double)backend.KvBytesPerBlock(blockSize) / blockSize;

        log.WriteLine("| batch | tok/s | step (ms) | floor (ms) | roofline tok/s | % of roofline | prefill ms, paged / tensor-core attention |");
        log.WriteLine("|---|---|---|---|---|---|---|");
        var random = new Random(7);
        // Batches the gemv path serves are timed both ways (cuBLAS first).
        foreach (var (batch, gemvRows) in batchSizes.SelectMany(b => b <= LinearLayers.DefaultGemvMaxRows ? new[] { (b, 0), (b, b) } : [(b, 0)]))
        {
            backend.GemvMaxRows = gemvRows;
            var tables = Enumerable.Range(0, batch).Select(s => Enumerable.Range(s * blocksPerSequence, blocksPerSequence).ToArray()).ToArray();
            var output = new ForwardOutput(config.VocabSize);
            // Prefill in chunks of up to 2048 tokens (16 prompts), each attention path twice (the first run warms up).
            var prefillMs = new double[2];
            for (var run = 0; run < 4; run++)
            {
                backend.TensorCorePrefill = run % 2 == 1;
                prefillMs[run % 2] = TimePrefill(backend, config, tables.Take(batch).ToArray(), prompt, 16, blockSize, new Random(11));
            }

            var next = Enumerable.Range(0, batch).Select(_ => random.Next(config.VocabSize)).ToArray();
            var greedy = Enumerable.Repeat(new DeviceSamplingRow(0f, 0, 1f, 0f, 0.5f), batch).ToArray();
            var timer = new Stopwatch();
            for (var step = 0; step < steps; step++)
            {
                var slices = Enumerable.Range(0, batch).Select(i => new SequenceSlice(i, 1, prompt + step, tables[i], true)).ToArray();
                var forward = new ForwardBatch(next, slices, blockSize, greedy);
                if (step == 2)
                {
                    timer.Start(); // the first two steps of a bucket warm up and capture its graph
                }

                backend.Forward(forward, output);
                next = output.SampledTokens[..batch];
            }

            timer.Stop();
            var timedSteps = steps - 2;
            var stepMs = timer.Elapsed.TotalMilliseconds / timedSteps;
            var averageContext = prompt + 2 + (timedSteps / 2.0);
            var floorMs = (backend.WeightBytes + (batch * averageContext * kvBytesPerToken)) / (copyGBps * 1e9) * 1e3;
            var tokensPerSecond = batch / (stepMs * 1e-3);
            var roofline = batch / (floorMs * 1e-3);
            log.WriteLine($"| {batch}{(batch <= LinearLayers.DefaultGemvMaxRows ? gemvRows == 0 ? " (cuBLAS)" : " (gemv)" : "")} | {tokensPerSecond:F0} | {stepMs:F2} | {floorMs:F2} | {roofline:F0} | {100 * tokensPerSecond / roofline:F0} % | {prefillMs[0]:F1} / {prefillMs[1]:F1} |");
            log.Flush();
        }

        backend.GemvMaxRows = LinearLayers.DefaultGemvMaxRows;
        LongPrefill(log, backend, config, blockSize, maxBatch * blocksPerSequence);
        return 0;
    }

    /// <summary>Steps of 16,384 prompt tokens (16384 / prompt sequences each) with both attention paths.</summary>
    private static void LongPrefill(TextWriter log, CudaBackend backend, ModelConfig config, int blockSize, int numBlocks)
    {
        log.WriteLine();
        log.WriteLine("| prompt | sequences | prefill step ms, paged attention | tensor-core attention | speed-up |");
        log.WriteLine("|---|---|---|---|---|");
        foreach (var prompt in new[] { 512, 1024, 2048, 4096 })
        {
            var sequences = 16384 / prompt;
            var perSequence = prompt / blockSize;
            if (sequences * perSequence > numBlocks)
            {
                continue;
            }

            var tables = Enumerable.Range(0, sequences).Select(s => Enumerable.Range(s * perSequence, perSequence).ToArray()).ToArray();
            var ms = new double[2];
            for (var run = 0; run < 4; run++)
            {
                backend.TensorCorePrefill = run % 2 == 1;
                ms[run % 2] = TimePrefill(backend, config, tables, prompt, sequences, blockSize, new Random(13));
            }

            log.WriteLine($"| {prompt} | {sequences} | {ms[0]:F1} | {ms[1]:F1} | {ms[0] / ms[1]:F2}x |");
            log.Flush();
        }

        backend.TensorCorePrefill = true;
    }

    /// <summary>Prefills one prompt per table, <paramref name="perStep"/> prompts a step; returns the milliseconds.</summary>
    private static double TimePrefill(CudaBackend backend, ModelConfig config, int[][] tables, int prompt, int perStep, int blockSize, Random random)
    {
        var output = new ForwardOutput(config.VocabSize);
        var timer = Stopwatch.StartNew();
        for (var first = 0; first < tables.Length; first += perStep)
        {
            var count = Math.Min(perStep, tables.Length - first);
            var ids = Enumerable.Range(0, count * prompt).Select(_ => random.Next(config.VocabSize)).ToArray();
            var slices = Enumerable.Range(0, count).Select(i => new SequenceSlice(i * prompt, prompt, 0, tables[first + i], true)).ToArray();
            backend.Forward(new ForwardBatch(ids, slices, blockSize), output);
        }

        return timer.Elapsed.TotalMilliseconds;
    }
}
