using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// The bf16 products of decode steps at the Llama-3.1-8B shapes (qkv, o, gate_up, down; lm_head with fp32 logits) at
/// 4…512 rows: cublasGemmEx (CUBLAS_GEMM_DEFAULT) against the per-shape choice of <see cref="Bf16GemmTuner"/> (its
/// fastest cuBLASLt algorithm where it beat GemmEx), each beside the shape's roofline, max(bytes / copy bandwidth,
/// FLOPs / bf16 GEMM peak), with both ceilings measured in the same run. Products are timed as CUDA graphs (as decode
/// steps run them), each reading another copy of its weight than the one before (as a step's next layer does): o_proj's
/// 33.5 MB would otherwise sit in the H100's 50 MB L2.
/// </summary>
internal static class GemmTuneBench
{
    private const int Hidden = Llama8BShape.Hidden, Ff = Llama8BShape.Ff, Layers = 32;

    /// <summary>Products per timed graph: enough that the gap between the start event and the graph's first kernel hardly counts.</summary>
    private const int ProductsPerGraph = 8;
    private static readonly int[] RowCounts = [4, 8, 16, 32, 64, 128, 256, 384, 512];

    public static int Run(TextWriter log)
    {
        using var device = CudaDevice.Open(0);
        using var stream = new CudaStream(device);
        var ceilings = Ceilings.Measure(device, stream);
        log.WriteLine($"# bf16 decode products: cublasGemmEx vs tuned (cuBLASLt where faster) on {device}");
        log.WriteLine($"ceilings: {ceilings}; roofline = max(bytes / copy bandwidth, FLOPs / GEMM peak), bytes = weight + activations + output");
        using var blas = new CublasHandle(device, stream);
        var lt = Bf16LtGemm.TryCreate(device, stream, out var why);
        if (lt is null)
        {
            log.WriteLine($"no cuBLASLt: {why}");
            return 1;
        }

        using var tuner = new Bf16GemmTuner(device, stream, blas, lt);
        var layers = new (string Name, int Out, int In, bool Fp32)[]
        {
            ("qkv", Llama8BShape.QkvDim, Hidden, false), ("o", Hidden, Hidden, false), ("gate_up", 2 * Ff, Hidden, false),
            ("down", Hidden, Ff, false), ("lm_head", Llama8BShape.Vocab, Hidden, true),
        };
        var maxRows = RowCounts[^1];
        using var arena = KernelBench.Filled(device, stream, layers.Max(l => 2L * l.Out * l.In) * 2); // at least two copies of every weight
        using var x = KernelBench.Filled(device, stream, 2L * maxRows * Ff);
        using var y = KernelBench.Filled(device, stream, 4L * maxRows * Llama8BShape.Vocab);

        log.WriteLine($"µs per product (medians of CUDA graphs of up to {ProductsPerGraph} products over different weight copies); TFLOP/s and weight GB/s of GemmEx → tuned; % of the roofline");
        log.WriteLine("| layer | rows | GemmEx µs | tuned µs | speedup | tuned algorithm | TFLOP/s | weight GB/s | roofline µs | % roofline |");
        log.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var rows in RowCounts)
        {
            double gemmExStep = 0, tunedStep = 0, rooflineStep = 0;
            foreach (var (name, outFeatures, inFeatures, fp32) in layers)
            {
                var shape = new GemmShape(rows, outFeatures, inFeatures, fp32);
                var weights = Copies(arena, shape.WeightBytes);
                var tuning = tuner.Tune(shape, weights, x.Pointer, y.Pointer);

                // Both paths again through what the engine calls, so the table times the dispatch it runs.
                var gemmExUs = Microseconds(device, stream, weights, w => blas.Linear(w, x.Pointer, y.Pointer, rows, inFeatures, outFeatures, fp32));
                var tunedUs = Microseconds(device, stream, weights, w =>
                {
                    if (!tuner.TryLinear(w, x.Pointer, y.Pointer, rows, inFeatures, outFeatures, fp32))
                    {
                        blas.Linear(w, x.Pointer, y.Pointer, rows, inFeatures, outFeatures, fp32);
                    }
                });
                var roofline = 1e6 * Math.Max(shape.Bytes / (ceilings.CopyGBps * 1e9), shape.Flops / (ceilings.GemmTflops * 1e12));
                log.WriteLine(
                    $"| {name} {outFeatures}x{inFeatures} | {rows} | {gemmExUs:F1} | {tunedUs:F1} | {gemmExUs / tunedUs:F2}x | {(tuning.UsesLt ? tuning.Best!.ToString() : "GemmEx")} " +
                    $"| {Tflops(shape, gemmExUs)} → {Tflops(shape, tunedUs)} | {GBps(shape, gemmExUs)} → {GBps(shape, tunedUs)} | {roofline:F1} " +
                    $"| {100 * roofline / gemmExUs:F0} % → {100 * roofline / tunedUs:F0} % |");
                var perStep = name == "lm_head" ? 1 : Layers;
                gemmExStep += perStep * gemmExUs;
                tunedStep += perStep * tunedUs;
                rooflineStep += perStep * roofline;
            }

            log.WriteLine(
                $"| **step's products** ({Layers} layers + lm_head) | {rows} | {gemmExStep / 1e3:F2} ms | {tunedStep / 1e3:F2} ms | {gemmExStep / tunedStep:F2}x | | | | {rooflineStep / 1e3:F2} ms " +
                $"| {100 * rooflineStep / gemmExStep:F0} % → {100 * rooflineStep / tunedStep:F0} % |");
        }

        log.WriteLine($"tuned shapes taking cuBLASLt: {tuner.Tunings.Count(t => t.UsesLt)} of {tuner.Tunings.Count}; cuBLASLt candidates per shape: {string.Join(", ", tuner.Tunings.Select(t => t.Candidates).Distinct().Order())}");
        return 0;
    }

    /// <summary>Up to 32 copies of a weight of <paramref name="bytes"/> in the arena (256-byte aligned), taken in turn.</summary>
    private static IReadOnlyList<ulong> Copies(DeviceBuffer arena, long bytes)
    {
        var stride = (bytes + Bf16LtGemm.Alignment - 1) / Bf16LtGemm.Alignment * Bf16LtGemm.Alignment;
        var count = (int)Math.Min(Layers, arena.Bytes / stride);
        return [.. Enumerable.Range(0, count).Select(i => arena.Pointer + (ulong)(i * stride))];
    }

    /// <summary>
    /// µs per product in a CUDA graph of one product per weight copy (up to <see cref="ProductsPerGraph"/>), as a decode
    /// step replays them: back to back, no host launch cost in the time.
    /// </summary>
    private static double Microseconds(CudaDevice device, CudaStream stream, IReadOnlyList<ulong> weights, Action<ulong> product)
    {
        var copies = weights.Take(ProductsPerGraph).ToArray();
        return 1e3 * Timing.GraphMedianMs(device, stream, 3, 15, () => Array.ForEach(copies, product)) / copies.Length;
    }

    private static string Tflops(GemmShape shape, double us) => $"{shape.Flops / (us * 1e6):F0}";

    private static string GBps(GemmShape shape, double us) => $"{shape.WeightBytes / (us * 1e3):F0}";
}
