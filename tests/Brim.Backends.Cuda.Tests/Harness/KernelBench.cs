using Brim.Backends.Cuda;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>Times each kernel at Llama-3.1-8B shapes and prints achieved GB/s against the measured copy ceiling.</summary>
internal static class KernelBench
{
    public static int Run(TextWriter log)
    {
        using var device = CudaDevice.Open(0);
        using var stream = new CudaStream(device);
        var ceilings = Ceilings.Measure(device, stream);
        log.WriteLine($"# kernels on {device}");
        log.WriteLine($"ceilings: {ceilings}");
        var compiler = new KernelCompiler(device.ComputeCapability, device.DriverVersion, KernelCompiler.DefaultCacheDirectory());
        var shape = new AttentionShape(32, 8, 128, false);
        using var kernels = new ModelKernels(device, compiler, shape);
        const int hidden = Llama8BShape.Hidden, ff = Llama8BShape.Ff, vocab = Llama8BShape.Vocab;
        log.WriteLine("| kernel | shape | time (us) | GB/s | % of copy |");
        log.WriteLine("|---|---|---|---|---|");
        void Row(string name, string shapeText, double ms, double bytes)
        {
            var gbps = bytes / (ms * 1e-3) / 1e9;
            log.WriteLine($"| {name} | {shapeText} | {ms * 1e3:F1} | {gbps:F0} | {100 * gbps / ceilings.CopyGBps:F0} % |");
        }

        foreach (var tokens in new[] { 64, 2048 })
        {
            using var x = Filled(device, stream, (long)tokens * hidden * 4);
            using var delta = Filled(device, stream, (long)tokens * hidden * 2);
            using var weight = Filled(device, stream, hidden * 2);
            using var output = Filled(device, stream, (long)tokens * hidden * 2);
            var ms = Timing.MedianMs(device, stream, 3, 20, () => kernels.RmsNorm.AddRmsNorm(stream, x.Pointer, delta.Pointer, weight.Pointer, output.Pointer, 0, tokens, hidden, 1e-5f));
            Row("add_rmsnorm", $"{tokens}x{hidden}", ms, tokens * hidden * (4.0 + 2 + 4 + 2));

            using var gateUp = Filled(device, stream, (long)tokens * 2 * ff * 2);
            using var act = Filled(device, stream, (long)tokens * ff * 2);
            ms = Timing.MedianMs(device, stream, 3, 20, () => kernels.SwiGlu.Apply(stream, gateUp.Pointer, act.Pointer, tokens, ff));
            Row("silu_mul", $"{tokens}x{ff}", ms, tokens * ff * 6.0);
        }

        using var general = new AttentionKernel(device, compiler, shape, preferDecodeKernel: false);
        foreach (var (rows, context) in new[] { (1, 4096), (64, 256), (64, 2048), (256, 256), (256, 1024) })
        {
            const int blockSize = 16;
            var blocksPerRow = context / blockSize;
            var blocks = rows * blocksPerRow;
            using var k = Filled(device, stream, (long)blocks * blockSize * shape.KvDim * 2);
            using var v = Filled(device, stream, (long)blocks * blockSize * shape.KvDim * 2);
            using var qkv = Filled(device, stream, (long)rows * shape.QkvDim * 2);
            using var tables = Upload(stream, device, Enumerable.Range(0, blocks).ToArray());
            using var contexts = Upload(stream, device, Enumerable.Repeat(context, rows).ToArray());
            using var offsets = Upload(stream, device, Enumerable.Range(0, rows).Select(r => r * blocksPerRow).ToArray());
            using var output = Filled(device, stream, (long)rows * shape.QueryDim * 2);
            using var partial = Filled(device, stream, AttentionKernel.PartialFloats(shape) * 4);
            var parts = AttentionKernel.ChoosePartitions(rows, shape.NumKvHeads, context, device.MultiprocessorCount);
            foreach (var kernel in new[] { general, kernels.Attention })
            {
                var ms = Timing.MedianMs(device, stream, 3, 20, () => kernel.Run(stream, qkv.Pointer, k.Pointer, v.Pointer, tables.Pointer, contexts.Pointer, offsets.Pointer, rows, blockSize, parts, output.Pointer, partial.Pointer));
                Row(kernel.UsesDecodeKernel ? "decode_attention" : "paged_attention", $"{rows} rows x ctx {context} ({parts} parts)", ms, 2.0 * rows * context * shape.KvDim * 2);
            }
        }

        foreach (var rows in new[] { 1, 64 })
        {
            using var logits = Filled(device, stream, (long)rows * vocab * 4);
            using var tokens = Filled(device, stream, rows * 4);
            using var logprobs = Filled(device, stream, rows * SamplingKernel.LogprobsPerRow * 4);
            using var logprobIds = Filled(device, stream, rows * SamplingKernel.LogprobsPerRow * 4);
            foreach (var top in new[] { -1, 0, 5 })
            {
                using var parameters = Upload(stream, device, GreedySampling(rows, top));
                var ms = Timing.MedianMs(device, stream, 3, 20, () => kernels.Sampling.Sample(stream, logits.Pointer, vocab, parameters.Pointer, tokens.Pointer, logprobs.Pointer, logprobIds.Pointer, rows));
                Row(top < 0 ? "sample_rows (greedy)" : $"sample_rows (greedy, logprobs {top})", $"{rows}x{vocab}", ms, rows * vocab * 4.0);
            }
        }

        LinearLayers(log, device, stream, kernels, shape, ceilings);
        StepBreakdown(log, device, stream, kernels, shape, ceilings);
        return 0;
    }

    /// <summary>The decode step's linear layers at few rows: cuBLAS against the gemv kernel, weight GB/s.</summary>
    private static void LinearLayers(TextWriter log, CudaDevice device, CudaStream stream, ModelKernels kernels, AttentionShape shape, Ceilings ceilings)
    {
        const int hidden = Llama8BShape.Hidden, ff = Llama8BShape.Ff, vocab = Llama8BShape.Vocab;
        using var blas = new CublasHandle(device, stream);
        using var act = Filled(device, stream, 8L * ff * 2 * 2);
        using var y = Filled(device, stream, 8L * vocab * 4);
        log.WriteLine("### linear layers at decode row counts: weight GB/s (and % of copy), cuBLAS / gemv");
        log.WriteLine("| layer | rows 1 | 2 | 3 | 4 | 8 |");
        log.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, outF, inF) in new[] { ("qkv", shape.QkvDim, hidden), ("o", hidden, shape.QueryDim), ("gate_up (+silu)", 2 * ff, hidden), ("down", hidden, ff), ("lm_head (fp32)", vocab, hidden) })
        {
            using var w = Filled(device, stream, (long)outF * inF * 2);
            var fp32 = name.StartsWith("lm_head", StringComparison.Ordinal);
            var gated = name.StartsWith("gate_up", StringComparison.Ordinal);
            var cells = new List<string>();
            foreach (var rows in new[] { 1, 2, 3, 4, 8 })
            {
                var blasMs = Timing.MedianMs(device, stream, 3, 20, () => blas.Linear(w.Pointer, act.Pointer, y.Pointer, rows, inF, outF, fp32));
                var gemvMs = Timing.MedianMs(device, stream, 3, 20, () =>
                {
                    if (gated)
                    {
                        kernels.Gemv.GateUpSilu(stream, w.Pointer, act.Pointer, y.Pointer, rows, inF, ff);
                    }
                    else
                    {
                        kernels.Gemv.Linear(stream, w.Pointer, act.Pointer, y.Pointer, rows, inF, outF, fp32);
                    }
                });
                var bytes = (double)outF * inF * 2;
                cells.Add($"{bytes / (blasMs * 1e6):F0} / {bytes / (gemvMs * 1e6):F0} ({100 * bytes / (gemvMs * 1e6) / ceilings.CopyGBps:F0} %)");
            }

            log.WriteLine($"| {name} {outF}x{inF} | {string.Join(" | ", cells)} |");
        }
    }

    /// <summary>
    /// Each op of one Llama-3.1-8B decode step timed alone (median, hot L2 for the small ones) times its count per
    /// step: the sum is what a step would cost with no launch gaps, the thing to compare with bench-decode.
    /// </summary>
    private static void StepBreakdown(TextWriter log, CudaDevice device, CudaStream stream, ModelKernels kernels, AttentionShape shape, Ceilings ceilings)
    {
        const int hidden = Llama8BShape.Hidden, ff = Llama8BShape.Ff, vocab = Llama8BShape.Vocab, layers = 32, context = 192, blockSize = 16;
        using var blas = new CublasHandle(device, stream);
        foreach (var rows in new[] { 1, 64 })
        {
            log.WriteLine($"### decode step breakdown, batch {rows}, context {context}");
            log.WriteLine("| op | count | each (us) | GB/s | step share (ms) |");
            log.WriteLine("|---|---|---|---|---|");
            var total = 0.0;
            void Op(string name, int count, double ms, double bytes)
            {
                total += count * ms;
                log.WriteLine($"| {name} | {count} | {ms * 1e3:F1} | {bytes / (ms * 1e-3) / 1e9:F0} | {count * ms:F3} |");
            }

            using var act = Filled(device, stream, (long)rows * ff * 2 * 2);
            using var y = Filled(device, stream, (long)rows * vocab * 4);
            foreach (var (name, outF, inF, count) in new[] { ("gemm qkv", shape.QkvDim, hidden, layers), ("gemm o", hidden, shape.QueryDim, layers), ("gemm gate_up", 2 * ff, hidden, layers), ("gemm down", hidden, ff, layers), ("gemm lm_head (fp32 out)", vocab, hidden, 1) })
            {
                using var w = Filled(device, stream, (long)outF * inF * 2);
                var fp32 = name.Contains("lm_head", StringComparison.Ordinal);
                var ms = Timing.MedianMs(device, stream, 3, 20, () => blas.Linear(w.Pointer, act.Pointer, y.Pointer, rows, inF, outF, fp32));
                Op(name, count, ms, ((double)outF * inF * 2) + ((double)rows * inF * 2));
            }

            using var x = Filled(device, stream, (long)rows * hidden * 4);
            using var normed = Filled(device, stream, (long)rows * hidden * 2);
            using var weight = Filled(device, stream, hidden * 2);
            var norm = Timing.MedianMs(device, stream, 3, 50, () => kernels.RmsNorm.AddRmsNorm(stream, x.Pointer, normed.Pointer, weight.Pointer, normed.Pointer, 0, rows, hidden, 1e-5f));
            Op("add_rmsnorm", (2 * layers) + 1, norm, rows * hidden * 12.0);
            var silu = Timing.MedianMs(device, stream, 3, 50, () => kernels.SwiGlu.Apply(stream, act.Pointer, act.Pointer, rows, ff));
            Op("silu_mul", layers, silu, rows * ff * 6.0);

            var blocksPerRow = (context + blockSize - 1) / blockSize;
            using var k = Filled(device, stream, (long)rows * blocksPerRow * blockSize * shape.KvDim * 2);
            using var v = Filled(device, stream, (long)rows * blocksPerRow * blockSize * shape.KvDim * 2);
            using var qkv = Filled(device, stream, (long)rows * shape.QkvDim * 2);
            using var tables = Upload(stream, device, Enumerable.Range(0, rows * blocksPerRow).ToArray());
            using var contexts = Upload(stream, device, Enumerable.Repeat(context, rows).ToArray());
            using var offsets = Upload(stream, device, Enumerable.Range(0, rows).Select(r => r * blocksPerRow).ToArray());
            using var positions = Upload(stream, device, Enumerable.Repeat(context - 1, rows).ToArray());
            using var slots = Upload(stream, device, Enumerable.Range(0, rows).Select(r => (r * blocksPerRow * blockSize) + context - 1).ToArray());
            using var frequencies = Filled(device, stream, shape.HeadDim * 2);
            using var partial = Filled(device, stream, AttentionKernel.PartialFloats(shape) * 4);
            var rope = Timing.MedianMs(device, stream, 3, 50, () => kernels.Rope.Apply(stream, qkv.Pointer, 0, positions.Pointer, slots.Pointer, frequencies.Pointer, k.Pointer, v.Pointer, rows, blockSize));
            Op("qkv_rope_cache", layers, rope, rows * shape.QkvDim * 4.0);
            var parts = AttentionKernel.ChoosePartitions(rows, shape.NumKvHeads, context, device.MultiprocessorCount);
            var attention = Timing.MedianMs(device, stream, 3, 50, () => kernels.Attention.Run(stream, qkv.Pointer, k.Pointer, v.Pointer, tables.Pointer, contexts.Pointer, offsets.Pointer, rows, blockSize, parts, normed.Pointer, partial.Pointer));
            Op($"paged_attention ({parts} parts)", layers, attention, 2.0 * rows * context * shape.KvDim * 2);
            using var ids = Upload(stream, device, new int[rows]);
            using var table = Filled(device, stream, (long)vocab * hidden * 2);
            var gather = Timing.MedianMs(device, stream, 3, 50, () => kernels.Embedding.Gather(stream, table.Pointer, ids.Pointer, x.Pointer, rows, hidden, 0, vocab));
            Op("embedding_gather", 1, gather, rows * hidden * 6.0);
            using var parameters = Upload(stream, device, GreedySampling(rows, -1));
            using var logprobs = Filled(device, stream, rows * SamplingKernel.LogprobsPerRow * 4);
            var sample = Timing.MedianMs(device, stream, 3, 50, () => kernels.Sampling.Sample(stream, y.Pointer, vocab, parameters.Pointer, ids.Pointer, logprobs.Pointer, logprobs.Pointer, rows));
            Op("sample_rows (greedy)", 1, sample, rows * vocab * 4.0);
            log.WriteLine($"sum of ops: {total:F3} ms per step (weights alone at copy bandwidth: {16.06e9 / (ceilings.CopyGBps * 1e9) * 1e3:F3} ms)");
        }
    }

    /// <summary>sample_rows parameters of greedy rows asking for <paramref name="topLogprobs"/> (-1: none), as the int bits the upload takes.</summary>
    private static int[] GreedySampling(int rows, int topLogprobs)
    {
        var p = new int[rows * SamplingKernel.ParamsPerRow];
        for (var r = 0; r < rows; r++)
        {
            p[(r * SamplingKernel.ParamsPerRow) + 2] = BitConverter.SingleToInt32Bits(1f);
            p[(r * SamplingKernel.ParamsPerRow) + 5] = BitConverter.SingleToInt32Bits(topLogprobs);
        }

        return p;
    }

    internal static DeviceBuffer Filled(CudaDevice device, CudaStream stream, long bytes)
    {
        var buffer = new DeviceBuffer(device, bytes);
        stream.Fill(buffer.Pointer, 0x3C, bytes); // finite, non-zero bf16 and fp32 patterns
        return buffer;
    }

    private static DeviceBuffer Upload(CudaStream stream, CudaDevice device, int[] values)
    {
        var buffer = new DeviceBuffer(device, Math.Max(4, values.Length * 4L));
        stream.Upload<int>(buffer.Pointer, values);
        return buffer;
    }
}
