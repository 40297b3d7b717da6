using System.Diagnostics;
using System.Globalization;
using Brim.Backends.Cuda.Execution;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// Where a decode step's time goes, stage by stage, at the batch and context shapes the large-batch targets are about:
/// the Llama-3.1-8B shape with dummy weights, bf16 weights and KV, then FP8 weights and the FP8 KV cache. Each shape is
/// timed twice: as the engine runs it (CUDA graph replay, best of the steps), then eagerly with a timing event after
/// every stage (<see cref="StageClock"/>), whose sums are per step and over all layers. Beside them the floors: the K/V
/// bytes attention reads over the copy bandwidth, the projections' max(weight bytes / copy bandwidth, FLOPs / GEMM peak
/// (twice the bf16 peak for FP8)), and the step's weights + K/V over the copy bandwidth. Rows share KV blocks round-robin
/// from a pool larger than L2, so any batch × context fits; the positions read were zeroed, never prefilled: the
/// kernels' time does not depend on the values. Sampling is greedy (as the decode benchmarks); one more row times it with
/// the top-k and top-p filters chat clients usually ask for.
/// </summary>
internal static class StageBench
{
    private const int BlockSize = 16;
    private const long PoolBytes = 6L << 30;
    private const int TimedSteps = 8;

    private static readonly (int Batch, int Context)[] DefaultShapes = [(1, 512), (64, 512), (256, 256), (256, 1024), (512, 1536)];

    public static int Run(TextWriter log, string configDirectory, (int Batch, int Context)[]? shapes = null)
    {
        shapes ??= DefaultShapes;
        Ceilings ceilings;
        using (var device = Interop.CudaDevice.Open(0))
        using (var stream = new Interop.CudaStream(device))
        {
            ceilings = Ceilings.Measure(device, stream);
        }

        log.WriteLine($"# decode step by stage, {configDirectory} (dummy weights); ceilings: {ceilings}");
        foreach (var (weights, kv) in new[] { (WeightQuantization.None, KvCacheDType.Auto), (WeightQuantization.Fp8, KvCacheDType.Fp8) })
        {
            using var model = ModelLoader.Load(configDirectory, LoadFormat.Dummy, dummySeed: 1234, quantization: weights);
            using var backend = new CudaBackend(model, new CudaBackendOptions { KvCacheDType = kv });
            Profile(log, backend, model.Config, ceilings, weights, kv, shapes);
        }

        return 0;
    }

    private static void Profile(
        TextWriter log, CudaBackend backend, ModelConfig config, Ceilings ceilings, WeightQuantization weights, KvCacheDType kv, (int Batch, int Context)[] shapes)
    {
        var poolBlocks = (int)(PoolBytes / backend.KvBytesPerBlock(BlockSize));
        backend.AllocateKvCache(poolBlocks, BlockSize);
        backend.ClearKvCache();
        var kvBytesPerPosition = (double)backend.KvBytesPerBlock(BlockSize) / BlockSize;
        var fp8 = weights == WeightQuantization.Fp8;
        log.WriteLine();
        log.WriteLine($"## {(fp8 ? "FP8" : "bf16")} weights ({backend.WeightBytes / 1e9:F2} GB), {(kv == KvCacheDType.Fp8 ? "FP8" : "bf16")} KV ({kvBytesPerPosition / 1024:F0} KiB a position) on {backend.DeviceName}");

        var stages = Enum.GetValues<StepStage>();
        var columns = new List<(string Name, double[] Stages, double Timed, double Graph, double Nucleus, double AttentionFloor, double ProductsFloor, double StepFloor)>();
        var random = new Random(5);
        foreach (var (batch, context) in shapes)
        {
            var perRow = ((context + TimedSteps + 4) / BlockSize) + 1;
            var tables = Enumerable.Range(0, batch)
                .Select(r => Enumerable.Range(0, perRow).Select(j => (int)(((long)r * perRow + j) % poolBlocks)).ToArray()).ToArray();
            var greedy = Enumerable.Repeat(new DeviceSamplingRow(0f, 0, 1f, 0f, 0.5f), batch).ToArray();
            // What chat clients usually send: the sampling kernel bisects for the top-k and top-p thresholds.
            var nucleus = Enumerable.Repeat(new DeviceSamplingRow(0.8f, 50, 0.95f, 0f, 0.5f), batch).ToArray();
            var sampling = greedy;
            var output = new ForwardOutput(config.VocabSize);
            var step = 0;
            void Step()
            {
                var ids = Enumerable.Range(0, batch).Select(_ => random.Next(config.VocabSize)).ToArray();
                var slices = Enumerable.Range(0, batch).Select(i => new SequenceSlice(i, 1, context + (step % 4), tables[i], true)).ToArray();
                backend.Forward(new ForwardBatch(ids, slices, BlockSize, sampling), output);
                step++;
            }

            // As served: graph replays (the first two steps of a bucket warm up and capture), the best step of the rest.
            Step();
            Step();
            var graph = double.MaxValue;
            for (var i = 0; i < TimedSteps; i++)
            {
                var timer = Stopwatch.StartNew();
                Step();
                graph = Math.Min(graph, timer.Elapsed.TotalMilliseconds);
            }

            // Eagerly, a timing event after each stage: one step to warm up, then the average of the rest.
            backend.TimeStages = true;
            var clock = backend.StageClock!;
            Step();
            clock.Reset();
            for (var i = 0; i < TimedSteps; i++)
            {
                Step();
            }

            var byStage = stages.Select(clock.MillisecondsPerStep).ToArray();
            sampling = nucleus;
            clock.Reset();
            for (var i = 0; i < TimedSteps; i++)
            {
                Step();
            }

            var nucleusMs = clock.MillisecondsPerStep(StepStage.Sampling);
            sampling = greedy;
            backend.TimeStages = false;
            var attentionFloor = batch * (double)context * kvBytesPerPosition / (ceilings.CopyGBps * 1e6);
            var productFlops = 2.0 * (backend.WeightBytes / (fp8 ? 1.0 : 2.0)) * batch;
            var productsFloor = Math.Max(backend.WeightBytes / (ceilings.CopyGBps * 1e6), productFlops / (ceilings.GemmTflops * (fp8 ? 2 : 1) * 1e9));
            var stepFloor = (backend.WeightBytes / (ceilings.CopyGBps * 1e6)) + attentionFloor;
            columns.Add(($"{batch} × {context}", byStage, byStage.Sum(), graph, nucleusMs, attentionFloor, productsFloor, stepFloor));
        }

        log.WriteLine($"| stage (ms a step) | {string.Join(" | ", columns.Select(c => c.Name))} |");
        log.WriteLine($"|---|{string.Concat(columns.Select(_ => "---:|"))}");
        foreach (var stage in stages)
        {
            log.WriteLine($"| {stage} | {string.Join(" | ", columns.Select(c => Cell(c.Stages[(int)stage], c.Timed)))} |");
        }

        var products = new[] { StepStage.Qkv, StepStage.Output, StepStage.GateUp, StepStage.Down, StepStage.LmHead };
        var rest = stages.Except(products).Except([StepStage.Attention]).ToArray();
        log.WriteLine($"| **products** (qkv, o, gate_up, down, lm_head) | {string.Join(" | ", columns.Select(c => Cell(products.Sum(s => c.Stages[(int)s]), c.Timed)))} |");
        log.WriteLine($"| **everything else** (norms, rope, embedding, sampling) | {string.Join(" | ", columns.Select(c => Cell(rest.Sum(s => c.Stages[(int)s]), c.Timed)))} |");
        log.WriteLine($"| Sampling at temperature 0.8, top-k 50, top-p 0.95 (not in the sums) | {string.Join(" | ", columns.Select(c => F(c.Nucleus)))} |");
        log.WriteLine($"| sum of stages, eager with events | {string.Join(" | ", columns.Select(c => F(c.Timed)))} |");
        log.WriteLine($"| step as served (graph replay, best of {TimedSteps}) | {string.Join(" | ", columns.Select(c => F(c.Graph)))} |");
        log.WriteLine($"| floor: attention (K/V bytes / copy) | {string.Join(" | ", columns.Select(c => F(c.AttentionFloor)))} |");
        log.WriteLine($"| floor: products (max of bytes, FLOPs) | {string.Join(" | ", columns.Select(c => F(c.ProductsFloor)))} |");
        log.WriteLine($"| floor: step (weights + K/V bytes / copy) | {string.Join(" | ", columns.Select(c => $"{F(c.StepFloor)} ({100 * c.StepFloor / c.Graph:F0} % of the step)"))} |");
        log.Flush();
    }

    private static string F(double ms) => ms.ToString("F3", CultureInfo.InvariantCulture);

    private static string Cell(double ms, double total) => string.Create(CultureInfo.InvariantCulture, $"{ms:F3} ({100 * ms / total:F0} %)");
}
