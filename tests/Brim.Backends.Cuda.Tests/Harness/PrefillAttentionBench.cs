using Brim.Backends.Cuda;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Tests.Reference;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// Prefill attention at the Llama-3.1-8B head shape (32 query heads, 8 KV heads, head_dim 128), bf16 and FP8 caches:
/// the small-tile kernel (prefill_attention.cu) against the long-tile one (prefill_attention_long.cu) on the same
/// inputs in the same run. First the chunks of a 32k prompt at 8,192 tokens a step (8,192 rows at prior context 0, 8k,
/// 24k), then 8 sequences of short chunks to check where PrefillTiling.UsesLongTiles switches. FLOPs count the causal
/// work exactly: row j of a chunk at prior context P attends to P + j + 1 positions, each costing 2·D for q·k and 2·D
/// for p·v per query head, so FLOPs = 4 · D · H · Σⱼ (P + j + 1) = 4·D·H·rows·(P + (rows + 1) / 2) per sequence (the
/// full rectangle's 4·D·H·rows·(P + rows), with the chunk's own square roughly halved). TFLOP/s are set against the
/// measured bf16 GEMM rate (cuBLAS, wgmma); mma.sync kernels top out below it. Each line also gives the largest
/// difference between the two kernels' outputs (both bf16, random inputs).
/// </summary>
internal static class PrefillAttentionBench
{
    private const int BlockSize = 16;

    public static int Run(TextWriter log)
    {
        using var device = CudaDevice.Open(0);
        using var stream = new CudaStream(device);
        var ceilings = Ceilings.Measure(device, stream);
        log.WriteLine($"# prefill attention on {device}");
        log.WriteLine($"ceilings: {ceilings}");
        log.WriteLine("FLOPs = 4 · head_dim · heads · Σ over rows of the row's context (prior + j + 1): the causal work, no masked tiles counted");
        var compiler = new KernelCompiler(device.ComputeCapability, device.DriverVersion, KernelCompiler.DefaultCacheDirectory());
        var random = new Random(1234);
        foreach (var fp8 in new[] { false, true })
        {
            if (fp8 && device.ComputeCapability < CudaBackend.MinFp8ComputeCapability)
            {
                continue;
            }

            var shape = new AttentionShape(32, 8, 128, false, fp8);
            using var small = new PrefillAttentionKernel(device, compiler, shape);
            using var longKernel = new LongPrefillAttentionKernel(device, compiler, shape);
            log.WriteLine();
            log.WriteLine($"## {(fp8 ? "FP8 E4M3 (+ a float scale per position and head)" : "bf16")} KV: small tiles ({small.RowsPerTile} rows) vs long tiles ({longKernel.RowsPerTile} rows)");
            log.WriteLine("| sequences × rows | prior context | GFLOP | small ms | small TFLOP/s | % of GEMM | long ms | long TFLOP/s | % of GEMM | long ÷ small time | max abs diff | rel. L2 diff | rule picks |");
            log.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            var tiling = new PrefillTiling(small.RowsPerTile, longKernel.RowsPerTile);
            foreach (var (sequences, rows, prior) in new[] { (1, 8192, 0), (1, 8192, 8192), (1, 8192, 24576), (8, 32, 0), (8, 64, 0), (8, 128, 0), (8, 512, 0), (8, 64, 4096), (8, 512, 4096) })
            {
                var r = Measure(device, stream, random, shape, small, longKernel, sequences, rows, prior);
                var flops = 4.0 * shape.HeadDim * shape.NumHeads * sequences * rows * (prior + ((rows + 1) / 2.0));
                double Tflops(double ms) => flops / (ms * 1e-3) / 1e12;
                log.WriteLine(
                    $"| {sequences} × {rows} | {prior} | {flops / 1e9:F1} | {r.SmallMs:F2} | {Tflops(r.SmallMs):F0} | {100 * Tflops(r.SmallMs) / ceilings.GemmTflops:F0} % " +
                    $"| {r.LongMs:F2} | {Tflops(r.LongMs):F0} | {100 * Tflops(r.LongMs) / ceilings.GemmTflops:F0} % | {r.LongMs / r.SmallMs:F2} " +
                    $"| {r.MaxAbsDiff:E1} | {r.RelativeDiff:E1} | {(tiling.UsesLongTiles(rows) ? "long" : "small")} |");
            }
        }

        return 0;
    }

    private static (double SmallMs, double LongMs, double MaxAbsDiff, double RelativeDiff) Measure(
        CudaDevice device, CudaStream stream, Random random, AttentionShape shape, PrefillAttentionKernel small, LongPrefillAttentionKernel longKernel,
        int sequences, int rows, int prior)
    {
        // One cache holding a context of prior + rows positions, its blocks in a scattered (paged) order; every sequence
        // reads it through its own block table (the same blocks: the timing is of reading them, not of distinct data).
        var context = prior + rows;
        var blocks = (context + BlockSize - 1) / BlockSize;
        var keys = KvCacheImage.Build(Bf16.Random(random, blocks * BlockSize * shape.KvDim, 4f), shape, blocks, BlockSize);
        var values = KvCacheImage.Build(Bf16.Random(random, blocks * BlockSize * shape.KvDim, 0.5f), shape, blocks, BlockSize);
        var table = Enumerable.Range(0, blocks).Select(i => (int)((long)i * 7919 % blocks)).ToArray();
        var totalRows = sequences * rows;
        var tables = new int[sequences * blocks];
        var rowContext = new int[totalRows];
        var rowTable = new int[totalRows];
        var smallTiles = new int[totalRows];
        var longTiles = new int[totalRows];
        int smallCount = 0, longCount = 0;
        for (var s = 0; s < sequences; s++)
        {
            table.CopyTo(tables, s * blocks);
            for (var j = 0; j < rows; j++)
            {
                rowContext[(s * rows) + j] = prior + j + 1;
                rowTable[(s * rows) + j] = s * blocks;
            }

            smallCount += PrefillTiling.WriteTiles(smallTiles.AsSpan(smallCount), s * rows, rows, small.RowsPerTile);
            longCount += PrefillTiling.WriteTiles(longTiles.AsSpan(longCount), s * rows, rows, longKernel.RowsPerTile);
        }

        using var k = Upload<byte>(device, stream, keys.Bytes);
        using var v = Upload<byte>(device, stream, values.Bytes);
        using var qkv = Upload<ushort>(device, stream, Bf16.ToBits(Bf16.Random(random, totalRows * shape.QkvDim, 2f)));
        using var dTables = Upload<int>(device, stream, tables);
        using var dContext = Upload<int>(device, stream, rowContext);
        using var dOffsets = Upload<int>(device, stream, rowTable);
        using var dSmallTiles = Upload<int>(device, stream, smallTiles.AsSpan(0, smallCount));
        using var dLongTiles = Upload<int>(device, stream, longTiles.AsSpan(0, longCount));
        using var smallOut = new DeviceBuffer(device, (long)totalRows * shape.QueryDim * 2);
        using var longOut = new DeviceBuffer(device, (long)totalRows * shape.QueryDim * 2);
        var smallMs = Timing.MedianMs(device, stream, 2, 7, () => small.Run(
            stream, qkv.Pointer, k.Pointer, v.Pointer, dTables.Pointer, dContext.Pointer, dOffsets.Pointer, dSmallTiles.Pointer, smallCount, BlockSize, smallOut.Pointer));
        var longMs = Timing.MedianMs(device, stream, 2, 7, () => longKernel.Run(
            stream, qkv.Pointer, k.Pointer, v.Pointer, dTables.Pointer, dContext.Pointer, dOffsets.Pointer, dLongTiles.Pointer, longCount, BlockSize, longOut.Pointer));

        var a = Download(stream, smallOut, totalRows * shape.QueryDim);
        var b = Download(stream, longOut, totalRows * shape.QueryDim);
        var maxAbs = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = Math.Abs((double)a[i] - b[i]);
            maxAbs = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(maxAbs, d);
        }

        return (smallMs, longMs, maxAbs, Compare.RelativeL2(b, a));
    }

    private static DeviceBuffer Upload<T>(CudaDevice device, CudaStream stream, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var buffer = new DeviceBuffer(device, Math.Max(16, values.Length * (long)System.Runtime.CompilerServices.Unsafe.SizeOf<T>()));
        stream.Upload(buffer.Pointer, values);
        return buffer;
    }

    private static float[] Download(CudaStream stream, DeviceBuffer buffer, long count)
    {
        var bits = new ushort[count];
        stream.Download(buffer.Pointer, bits.AsSpan());
        return Bf16.FromBits(bits);
    }
}
