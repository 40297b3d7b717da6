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
        const int hidden = 4096, ff = 14336, vocab = 128256;
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

        foreach (var (rows, context) in new[] { (1, 4096), (64, 256), (64, 2048), (256, 256) })
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
            var ms = Timing.MedianMs(device, stream, 3, 20, () => kernels.Attention.Run(stream, qkv.Pointer, k.Pointer, v.Pointer, tables.Pointer, contexts.Pointer, offsets.Pointer, rows, blockSize, parts, output.Pointer, partial.Pointer));
            Row("paged_attention", $"{rows} rows x ctx {context} ({parts} parts)", ms, 2.0 * rows * context * shape.KvDim * 2);
        }

        foreach (var rows in new[] { 1, 64 })
        {
            using var logits = Filled(device, stream, (long)rows * vocab * 4);
            using var parameters = Upload(stream, device, new int[rows * 5]);
            using var tokens = Filled(device, stream, rows * 4);
            var ms = Timing.MedianMs(device, stream, 3, 20, () => kernels.Sampling.Sample(stream, logits.Pointer, vocab, parameters.Pointer, tokens.Pointer, rows));
            Row("sample_rows (greedy)", $"{rows}x{vocab}", ms, rows * vocab * 4.0);
        }

        return 0;
    }

    private static DeviceBuffer Filled(CudaDevice device, CudaStream stream, long bytes)
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
