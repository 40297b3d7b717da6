using Brim.Backends.Cuda;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// Decode attention over batch × context at the Llama-3.1-8B head shape, bf16 and FP8 caches: K/V bytes read per
/// second against the measured copy ceiling, with the partition count the backend would choose and the best of the
/// powers of two (so the heuristic is checked by the same run). Blocks come from a pool larger than L2 that rows
/// share round-robin, so large shapes fit in memory while every read still misses L2.
/// </summary>
internal static class AttentionSweep
{
    private const int BlockSize = 16;
    private const long PoolBytes = 3L << 30;

    public static int Run(TextWriter log, int[] batches, int[] contexts)
    {
        using var device = CudaDevice.Open(0);
        using var stream = new CudaStream(device);
        var ceilings = Ceilings.Measure(device, stream);
        log.WriteLine($"# decode attention sweep on {device}");
        log.WriteLine($"ceilings: {ceilings}");
        var compiler = new KernelCompiler(device.ComputeCapability, device.DriverVersion, KernelCompiler.DefaultCacheDirectory());
        foreach (var fp8 in new[] { false, true })
        {
            if (fp8 && device.ComputeCapability < CudaBackend.MinFp8ComputeCapability)
            {
                continue;
            }

            var shape = new AttentionShape(32, 8, 128, false, fp8);
            using var kernel = new AttentionKernel(device, compiler, shape);
            var segment = BlockSize * shape.NumKvHeads * shape.KvBytesPerHeadPosition;
            var poolBlocks = (int)(PoolBytes / segment);
            using var k = new DeviceBuffer(device, (long)poolBlocks * segment);
            using var v = new DeviceBuffer(device, (long)poolBlocks * segment);
            FillFinite(stream, k);
            FillFinite(stream, v);
            using var partial = new DeviceBuffer(device, AttentionKernel.PartialFloats(shape) * 4);
            log.WriteLine();
            log.WriteLine($"## {(fp8 ? "FP8 E4M3 (+ a float scale per position and head)" : "bf16")} KV, {kernel.KernelName}");
            log.WriteLine("| batch | context | K+V MB | parts | time (us) | GB/s | % of copy | best parts | best GB/s |");
            log.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var rows in batches)
            {
                using var qkv = new DeviceBuffer(device, (long)rows * shape.QkvDim * 2);
                stream.Fill(qkv.Pointer, 0x3C, (long)rows * shape.QkvDim * 2);
                using var output = new DeviceBuffer(device, (long)rows * shape.QueryDim * 2);
                foreach (var context in contexts)
                {
                    var blocksPerRow = (context + BlockSize - 1) / BlockSize;
                    using var tables = Upload(device, stream, Enumerable.Range(0, rows * blocksPerRow).Select(i => (int)((long)i * 7919 % poolBlocks)).ToArray());
                    using var lengths = Upload(device, stream, Enumerable.Repeat(context, rows).ToArray());
                    using var offsets = Upload(device, stream, Enumerable.Range(0, rows).Select(r => r * blocksPerRow).ToArray());
                    var bytes = 2.0 * rows * context * shape.NumKvHeads * shape.KvBytesPerHeadPosition;
                    double Time(int parts) => Timing.MedianMs(device, stream, 2, 10, () => kernel.Run(
                        stream, qkv.Pointer, k.Pointer, v.Pointer, tables.Pointer, lengths.Pointer, offsets.Pointer, rows, BlockSize, parts, output.Pointer, partial.Pointer));
                    var chosen = AttentionKernel.ChoosePartitions(rows, shape.NumKvHeads, context, device.MultiprocessorCount, kernel.CtasPerMultiprocessorTarget, kernel.MinPositionsPerPartition);
                    var ms = Time(chosen);
                    var (bestParts, bestMs) = (chosen, ms);
                    for (var parts = 1; parts <= 64; parts *= 2)
                    {
                        if (parts != chosen && (long)rows * shape.NumKvHeads * parts <= AttentionKernel.MaxPartitionSlotsPerHead && parts * 32 <= context)
                        {
                            var t = Time(parts);
                            if (t < bestMs)
                            {
                                (bestParts, bestMs) = (parts, t);
                            }
                        }
                    }

                    var gbps = bytes / (ms * 1e6);
                    log.WriteLine($"| {rows} | {context} | {bytes / 1e6:F0} | {chosen} | {ms * 1e3:F1} | {gbps:F0} | {100 * gbps / ceilings.CopyGBps:F0} % | {bestParts} | {bytes / (bestMs * 1e6):F0} |");
                }
            }
        }

        return 0;
    }

    // bf16 0x3C3C ≈ 0.0115; E4M3 0x3C = 1.5 and scales 0x3C3C3C3C ≈ 0.0115: finite everywhere.
    private static void FillFinite(CudaStream stream, DeviceBuffer buffer) => stream.Fill(buffer.Pointer, 0x3C, buffer.Bytes);

    /// <summary>An int32 array in a new device buffer (block tables, lengths, offsets).</summary>
    internal static DeviceBuffer Upload(CudaDevice device, CudaStream stream, int[] values)
    {
        var buffer = new DeviceBuffer(device, Math.Max(4, values.Length * 4L));
        stream.Upload<int>(buffer.Pointer, values);
        return buffer;
    }
}
