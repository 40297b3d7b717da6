using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// Whether a large decode step's two halves can hide each other's costs on one GPU: at ~500 rows and ~1,500 positions
/// (the 1,000 × 1,000 offline workload with FP8 weights and the FP8 KV cache) one layer's W8A8 products are
/// compute-bound and its decode attention is bandwidth-bound, and the engine runs them one after the other. Here one
/// layer's work of the Llama-3.1-8B shape is timed: attention alone, the four products alone, both in turn (what a step
/// does today), the batch cut in two halves in turn, and the halves on two streams crossed (one half's attention beside
/// the other's products: the steady state of a two-nano-batch pipeline). The W8A8 products with cuBLASLt planning for
/// all SMs or fewer (CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET), which leaves SMs free for the attention beside them; then
/// the same layer with bf16 weights on cublasGemmEx (the bf16-weights run of that workload, also with the FP8 cache).
/// The floor is max(attention, products): what perfect overlap would cost.
/// </summary>
internal static class OverlapBench
{
    private const int Hidden = Llama8BShape.Hidden, Ff = Llama8BShape.Ff, QkvDim = Llama8BShape.QkvDim;
    private const int BlockSize = 16;
    private const long PoolBytes = 3L << 30;

    public static int Run(TextWriter log, int rows = 512, int context = 1536)
    {
        using var device = CudaDevice.Open(0);
        if (device.ComputeCapability < CudaBackend.MinFp8ComputeCapability)
        {
            log.WriteLine($"sm_{device.ComputeCapability} has no FP8 tensor cores: nothing to time");
            return 0;
        }

        using var first = new CudaStream(device);
        using var second = new CudaStream(device);
        log.WriteLine($"# one layer of a {rows}-row decode step at {context} positions, FP8 KV, on {device}");
        log.WriteLine($"ceilings: {Ceilings.Measure(device, first)}");
        var compiler = new KernelCompiler(device.ComputeCapability, device.DriverVersion, KernelCompiler.DefaultCacheDirectory());
        var half = rows / 2;

        // The four projections of a layer, each with its own weight (E4M3 codes and row scales).
        var layers = new (int Out, int In)[] { (QkvDim, Hidden), (Hidden, Hidden), (2 * Ff, Hidden), (Hidden, Ff) };
        var weights = layers.Select(l => (Codes: KernelBench.Filled(device, first, (long)l.Out * l.In), Scales: KernelBench.Filled(device, first, l.Out * 4L))).ToArray();
        using var x = KernelBench.Filled(device, first, (long)rows * Ff * 2);
        using var yFirst = KernelBench.Filled(device, first, (long)rows * 2 * Ff * 2);
        using var ySecond = KernelBench.Filled(device, first, (long)rows * 2 * Ff * 2);
        using var gemmFirst = Fp8Gemm.TryCreate(device, first, compiler, rows, Ff, message => log.WriteLine($"warning: {message}"), out var why);
        using var gemmSecond = Fp8Gemm.TryCreate(device, second, compiler, rows, Ff, message => log.WriteLine($"warning: {message}"), out _);
        if (gemmFirst is null || gemmSecond is null)
        {
            log.WriteLine($"no W8A8 path: {why}");
            return 1;
        }

        // The FP8 cache: blocks from a pool larger than L2 that rows share round-robin, as the attention sweep does.
        var shape = new AttentionShape(32, 8, 128, false, true);
        using var attention = new AttentionKernel(device, compiler, shape);
        var segment = BlockSize * shape.NumKvHeads * shape.KvBytesPerHeadPosition;
        var poolBlocks = (int)(PoolBytes / segment);
        using var k = KernelBench.Filled(device, first, (long)poolBlocks * segment);
        using var v = KernelBench.Filled(device, first, (long)poolBlocks * segment);
        using var qkv = KernelBench.Filled(device, first, (long)rows * shape.QkvDim * 2);
        using var output = KernelBench.Filled(device, first, (long)rows * shape.QueryDim * 2);
        using var partialFirst = new DeviceBuffer(device, AttentionKernel.PartialFloats(shape) * 4);
        using var partialSecond = new DeviceBuffer(device, AttentionKernel.PartialFloats(shape) * 4);
        var blocksPerRow = (context + BlockSize - 1) / BlockSize;
        using var tables = AttentionSweep.Upload(device, first, [.. Enumerable.Range(0, rows * blocksPerRow).Select(i => (int)((long)i * 7919 % poolBlocks))]);
        using var lengths = AttentionSweep.Upload(device, first, [.. Enumerable.Repeat(context, rows)]);
        using var offsets = AttentionSweep.Upload(device, first, [.. Enumerable.Range(0, rows).Select(r => r * blocksPerRow)]);
        first.Synchronize();

        void Attend(CudaStream stream, int from, int count, DeviceBuffer partial)
        {
            var parts = AttentionKernel.ChoosePartitions(count, shape.NumKvHeads, context, device.MultiprocessorCount, attention.CtasPerMultiprocessorTarget, attention.MinPositionsPerPartition);
            attention.Run(stream, qkv.Pointer + ((ulong)from * (ulong)shape.QkvDim * 2), k.Pointer, v.Pointer, tables.Pointer, lengths.Pointer + ((ulong)from * 4),
                offsets.Pointer + ((ulong)from * 4), count, BlockSize, parts, output.Pointer + ((ulong)from * (ulong)shape.QueryDim * 2), partial.Pointer);
        }

        void ProjectFp8(int side, int from, int count)
        {
            var (gemm, y) = side == 0 ? (gemmFirst, yFirst) : (gemmSecond, ySecond);
            for (var i = 0; i < layers.Length; i++)
            {
                var w = new LinearWeight(weights[i].Codes.Pointer, weights[i].Scales.Pointer, WeightFormat.Fp8, layers[i].In);
                if (!gemm.TryLinear(w, x.Pointer + ((ulong)from * (ulong)layers[i].In * 2), y.Pointer, count, layers[i].In, layers[i].Out))
                {
                    throw new InvalidOperationException($"W8A8 refused {count} rows of {layers[i].Out}x{layers[i].In}: {gemm.FallbackReason}");
                }
            }
        }

        // bf16 weights on cublasGemmEx, a handle a stream (what a bf16 model's large decode steps run past the tuned shapes).
        var bf16Weights = layers.Select(l => KernelBench.Filled(device, first, (long)l.Out * l.In * 2)).ToArray();
        using var blasFirst = new CublasHandle(device, first);
        using var blasSecond = new CublasHandle(device, second);
        void ProjectBf16(int side, int from, int count)
        {
            var (blas, y) = side == 0 ? (blasFirst, yFirst) : (blasSecond, ySecond);
            for (var i = 0; i < layers.Length; i++)
            {
                blas.Linear(bf16Weights[i].Pointer, x.Pointer + ((ulong)from * (ulong)layers[i].In * 2), y.Pointer, count, layers[i].In, layers[i].Out);
            }
        }

        using var fork = new CudaEvent(device);
        using var join = new CudaEvent(device);
        double Ms(Action enqueue) => Timing.MedianMs(device, first, 3, 15, enqueue);

        void Table(string title, Action<int, int, int> project, int[] targets, Action<int> setTarget)
        {
            log.WriteLine();
            log.WriteLine($"## {title}");
            log.WriteLine($"ms per layer; floor = max(attention, products) at the default plan; crossed = half A's attention beside half B's products, then B's attention beside A's products, on two streams");
            log.WriteLine("| SM target | attention | products | in turn (today) | halves in turn | halves crossed | crossed ÷ in turn | floor |");
            log.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
            double? floor = null;
            foreach (var target in targets.Where(t => t < device.MultiprocessorCount))
            {
                setTarget(target);
                var attend = Ms(() => Attend(first, 0, rows, partialFirst));
                var products = Ms(() => project(0, 0, rows));
                var inTurn = Ms(() =>
                {
                    Attend(first, 0, rows, partialFirst);
                    project(0, 0, rows);
                });
                var halvesInTurn = Ms(() =>
                {
                    Attend(first, 0, half, partialFirst);
                    project(0, 0, half);
                    Attend(first, half, rows - half, partialFirst);
                    project(0, half, rows - half);
                });
                var crossed = Ms(() =>
                {
                    fork.Record(first);
                    second.WaitFor(fork);
                    Attend(first, 0, half, partialFirst);
                    project(1, half, rows - half);
                    project(0, 0, half);
                    Attend(second, half, rows - half, partialSecond);
                    join.Record(second);
                    first.WaitFor(join);
                });
                floor ??= Math.Max(attend, products);
                log.WriteLine($"| {(target == 0 ? "all" : target.ToString())} | {attend:F3} | {products:F3} | {inTurn:F3} | {halvesInTurn:F3} | {crossed:F3} | {crossed / inTurn:F2} | {floor:F3} |");
            }
        }

        Table("FP8 weights, W8A8 on cuBLASLt", ProjectFp8, [0, 120, 108, 96, 80, 66], target =>
        {
            gemmFirst.SmCountTarget = target;
            gemmSecond.SmCountTarget = target;
        });
        Table("bf16 weights, cublasGemmEx (no SM target)", ProjectBf16, [0], _ => { });

        foreach (var w in bf16Weights)
        {
            w.Dispose();
        }

        foreach (var (codes, scales) in weights)
        {
            codes.Dispose();
            scales.Dispose();
        }

        return 0;
    }
}
