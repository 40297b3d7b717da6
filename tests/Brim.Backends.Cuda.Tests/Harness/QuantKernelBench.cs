using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// quant_gemv at the Llama-3.1-8B decode shapes: bytes read (codes + scales) per second against the copy ceiling, for
/// each split of a row group over warps and the launcher's own choice: int4, FP8 and int8 on tensor cores (1 and 2 tiles a
/// warp) and every format on CUDA cores, with bf16 gemv.cu on the same shapes as the baseline. What the launcher's split rule and the build default
/// are chosen from.
/// </summary>
internal static class QuantKernelBench
{
    private const int Hidden = Llama8BShape.Hidden, Ff = Llama8BShape.Ff, QkvDim = Llama8BShape.QkvDim;
    private static readonly int[] Splits = [1, 2, 4, 8];

    public static int Run(TextWriter log)
    {
        using var device = CudaDevice.Open(0);
        using var stream = new CudaStream(device);
        var ceilings = Ceilings.Measure(device, stream);
        log.WriteLine($"# quant_gemv on {device}");
        log.WriteLine($"ceilings: {ceilings}");
        var compiler = new KernelCompiler(device.ComputeCapability, device.DriverVersion, KernelCompiler.DefaultCacheDirectory());
        var layers = new (string Name, int Out, int In, bool Gated)[]
        {
            ("qkv", QkvDim, Hidden, false), ("o", Hidden, Hidden, false), ("gate_up (+silu)", Ff, Hidden, true), ("down", Hidden, Ff, false),
        };
        using var act = KernelBench.Filled(device, stream, (long)QuantGemvKernel.MmaMaxRows * Ff * 2);
        using var y = KernelBench.Filled(device, stream, (long)QuantGemvKernel.MmaMaxRows * 2 * Ff * 4);

        using (var gemv = new GemvKernel(device, compiler))
        {
            log.WriteLine("### bf16 gemv.cu (baseline): GB/s (% of copy)");
            log.WriteLine("| layer | rows 1 | 4 | 8 |");
            log.WriteLine("|---|---|---|---|");
            foreach (var (name, outF, inF, gated) in layers)
            {
                var rowsOut = gated ? 2 * outF : outF;
                var bytes = (long)rowsOut * inF * 2;
                using var copies = new Copies(device, stream, bytes);
                var cells = new[] { 1, 4, 8 }.Select(rows =>
                {
                    var ms = copies.MsPerLaunch(w =>
                    {
                        if (gated)
                        {
                            gemv.GateUpSilu(stream, w, act.Pointer, y.Pointer, rows, inF, outF);
                        }
                        else
                        {
                            gemv.Linear(stream, w, act.Pointer, y.Pointer, rows, inF, outF, false);
                        }
                    });
                    return Cell(bytes, ms, ceilings);
                }).ToList();
                log.WriteLine($"| {name} {rowsOut}x{inF} | {string.Join(" | ", cells)} |");
            }
        }

        // int4, FP8 and int8 on tensor cores (quant_gemv_mma.cu) by tiles a warp and split, each beside its CUDA-core kernel.
        var builds = new (WeightFormat Format, bool TensorCores, int Tiles)[]
        {
            (WeightFormat.Int4, true, 1), (WeightFormat.Int4, true, 2), (WeightFormat.Int4, false, 0),
            (WeightFormat.Fp8, true, 1), (WeightFormat.Fp8, true, 2), (WeightFormat.Fp8, false, 0),
            (WeightFormat.Int8, true, 1), (WeightFormat.Int8, true, 2), (WeightFormat.Int8, false, 0),
        };
        foreach (var (format, tensorCores, tiles) in builds)
        {
            using var kernel = new QuantGemvKernel(device, compiler, format, factored: true, tensorCores);
            var build = tensorCores ? $"quant_gemv_mma.cu (tensor cores), {tiles} tile(s) a warp" : "quant_gemv.cu (CUDA cores, factored)";
            log.WriteLine($"### {format} {build}: GB/s (% of copy) by split; auto = the launcher's choice");
            log.WriteLine("| layer | rows | split 1 | 2 | 4 | 8 | auto |");
            log.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var (name, outF, inF, gated) in layers)
            {
                var rowsOut = gated ? 2 * outF : outF;
                var group = format == WeightFormat.Int4 ? 128 : inF;
                var codeBytes = LinearWeight.CodeBytes(format, rowsOut, inF);
                var bytes = codeBytes + LinearWeight.ScaleBytes(format, rowsOut, inF, group);
                // One buffer a copy: codes, then scales (16-byte aligned, as the kernel needs).
                using var copies = new Copies(device, stream, bytes + 16);
                foreach (var rows in tensorCores ? new[] { 1, 4, 8, 16, 32 } : [1, 4, 8])
                {
                    var cells = Splits.Append(0).Select(split =>
                    {
                        var ms = copies.MsPerLaunch(p =>
                        {
                            var weight = new LinearWeight(p, p + (ulong)codeBytes, format, group);
                            if (gated)
                            {
                                kernel.GateUpSilu(stream, weight, act.Pointer, y.Pointer, rows, inF, outF, split, tiles);
                            }
                            else
                            {
                                kernel.Linear(stream, weight, act.Pointer, y.Pointer, rows, inF, outF, split: split, tiles: tiles);
                            }
                        });
                        var chosen = tensorCores ? QuantGemvKernel.MmaSplitFor(inF, outF, tiles * (gated ? 8 : 16), device.MultiprocessorCount) : QuantGemvKernel.SplitFor(format, inF, rows);
                        return Cell(bytes, ms, ceilings) + (split == 0 ? $" [{chosen}]" : string.Empty);
                    }).ToList();
                    log.WriteLine($"| {name} {rowsOut}x{inF} | {rows} | {string.Join(" | ", cells)} |");
                }
            }
        }

        return 0;
    }

    private static string Cell(double bytes, double ms, Ceilings ceilings)
    {
        var gbps = bytes / (ms * 1e6);
        return $"{gbps:F0} ({100 * gbps / ceilings.CopyGBps:F0} %)";
    }

    /// <summary>
    /// Enough copies of a weight that one pass over them (≥ 256 MB) cannot live in the 50 MB L2, timed back to back as a
    /// step's kernels run: milliseconds per launch streaming from memory, without the host's launch latency.
    /// </summary>
    private sealed class Copies : IDisposable
    {
        private readonly CudaDevice _device;
        private readonly CudaStream _stream;
        private readonly DeviceBuffer[] _buffers;

        public Copies(CudaDevice device, CudaStream stream, long bytes)
        {
            _device = device;
            _stream = stream;
            _buffers = [.. Enumerable.Range(0, (int)Math.Max(4, (256L << 20) / bytes + 1)).Select(_ => KernelBench.Filled(device, stream, bytes))];
        }

        public double MsPerLaunch(Action<ulong> enqueue) => Timing.MedianMs(_device, _stream, 2, 9, () =>
        {
            foreach (var buffer in _buffers)
            {
                enqueue(buffer.Pointer);
            }
        }) / _buffers.Length;

        public void Dispose()
        {
            foreach (var buffer in _buffers)
            {
                buffer.Dispose();
            }
        }
    }
}
