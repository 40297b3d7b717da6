using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Tests.Harness;

/// <summary>
/// The prefill-sized products of FP8 weights at the Llama-3.1-8B shapes, three ways: bf16 cuBLAS on a bf16 weight (what
/// an unquantized model runs), the FP8 weight dequantized to bf16 then bf16 cuBLAS (the fallback path), and W8A8 on
/// cuBLASLt (<see cref="Fp8Gemm"/>: activation quantization + E4M3 product + scale epilogue, and the product alone, also
/// with cuBLASLt's FP8 fast accumulation, which the engine leaves off).
/// TFLOP/s count 2·rows·in·out per product whatever the path does besides; the measured bf16 GEMM ceiling is printed
/// beside them (the FP8 dense peak is twice bf16's on Hopper).
/// </summary>
internal static class Fp8GemmBench
{
    private const int Hidden = Llama8BShape.Hidden, Ff = Llama8BShape.Ff, QkvDim = Llama8BShape.QkvDim;
    private static readonly int[] RowCounts = [128, 512, 2048, 8192];

    public static int Run(TextWriter log)
    {
        using var device = CudaDevice.Open(0);
        using var stream = new CudaStream(device);
        var ceilings = Ceilings.Measure(device, stream);
        log.WriteLine($"# fp8 prefill products (W8A8 on cuBLASLt) on {device}");
        log.WriteLine($"ceilings: {ceilings}; FP8 dense peak on Hopper is 2x bf16's");
        if (device.ComputeCapability < CudaBackend.MinFp8ComputeCapability)
        {
            log.WriteLine($"sm_{device.ComputeCapability} has no FP8 tensor cores: nothing to time");
            return 0;
        }

        var compiler = new KernelCompiler(device.ComputeCapability, device.DriverVersion, KernelCompiler.DefaultCacheDirectory());
        var maxRows = RowCounts[^1];
        using var gemm = Fp8Gemm.TryCreate(device, stream, compiler, maxRows, Ff, message => log.WriteLine($"warning: {message}"), out var why);
        if (gemm is null)
        {
            log.WriteLine($"no W8A8 path: {why}");
            return 1;
        }

        using var blas = new CublasHandle(device, stream);
        using var quantize = new QuantizeKernels(device, compiler);
        var layers = new (string Name, int Out, int In)[] { ("qkv", QkvDim, Hidden), ("o", Hidden, Hidden), ("gate_up", 2 * Ff, Hidden), ("down", Hidden, Ff) };
        var widestOut = layers.Max(l => (long)l.Out);
        var largestWeight = layers.Max(l => (long)l.Out * l.In);
        using var x = KernelBench.Filled(device, stream, (long)maxRows * Ff * 2);
        using var y = KernelBench.Filled(device, stream, maxRows * widestOut * 2);
        using var bf16Weight = KernelBench.Filled(device, stream, largestWeight * 2);
        using var scratch = KernelBench.Filled(device, stream, largestWeight * 2);
        using var codes = KernelBench.Filled(device, stream, largestWeight);
        using var scales = KernelBench.Filled(device, stream, widestOut * sizeof(float));
        var fp8 = new LinearWeight(codes.Pointer, scales.Pointer, WeightFormat.Fp8, 0);

        log.WriteLine("TFLOP/s (2·rows·in·out per product); ratios of times; W8A8 = quantize activations + E4M3 product + scale epilogue");
        log.WriteLine("| layer | rows | bf16 | dequant + bf16 | W8A8 | W8A8 product alone | product alone, fast accum | W8A8 vs dequant | W8A8 vs bf16 |");
        log.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var totals = new double[3];
        foreach (var rows in RowCounts)
        {
            foreach (var (name, outF, inF) in layers)
            {
                fp8 = fp8 with { GroupWidth = inF };
                var flops = 2.0 * rows * inF * outF;
                var bf16Ms = Ms(device, stream, () => blas.Linear(bf16Weight.Pointer, x.Pointer, y.Pointer, rows, inF, outF));
                var dequantMs = Ms(device, stream, () =>
                {
                    quantize.Dequantize(stream, fp8, scratch.Pointer, outF, inF);
                    blas.Linear(scratch.Pointer, x.Pointer, y.Pointer, rows, inF, outF);
                });
                if (!gemm.CanRun(fp8, y.Pointer, rows, inF, outF))
                {
                    log.WriteLine($"| {name} {outF}x{inF} | {rows} | {Tflops(flops, bf16Ms)} | {Tflops(flops, dequantMs)} | falls back: {gemm.FallbackReason} | | | | |");
                    continue;
                }

                var w8a8Ms = Ms(device, stream, () => gemm.TryLinear(fp8, x.Pointer, y.Pointer, rows, inF, outF));
                gemm.QuantizeActivations(x.Pointer, rows, inF);
                var productMs = Ms(device, stream, () => gemm.MultiplyRaw(fp8, y.Pointer, rows, inF, outF));
                gemm.FastAccumulation = true;
                var fastMs = gemm.CanRun(fp8, y.Pointer, rows, inF, outF) ? Ms(device, stream, () => gemm.MultiplyRaw(fp8, y.Pointer, rows, inF, outF)) : double.NaN;
                gemm.FastAccumulation = false;
                log.WriteLine(
                    $"| {name} {outF}x{inF} | {rows} | {Tflops(flops, bf16Ms)} | {Tflops(flops, dequantMs)} | {Tflops(flops, w8a8Ms)} | {Tflops(flops, productMs)} | {Tflops(flops, fastMs)} " +
                    $"| {dequantMs / w8a8Ms:F2}x | {bf16Ms / w8a8Ms:F2}x |");
                if (rows == 2048)
                {
                    totals[0] += bf16Ms;
                    totals[1] += dequantMs;
                    totals[2] += w8a8Ms;
                }
            }
        }

        // One 2,048-token prefill step of the 8B model runs each projection once per layer (32 layers).
        log.WriteLine($"projections of a 2,048-token step x 32 layers: bf16 {32 * totals[0]:F2} ms, dequant + bf16 {32 * totals[1]:F2} ms, W8A8 {32 * totals[2]:F2} ms");
        return 0;
    }

    private static double Ms(CudaDevice device, CudaStream stream, Action enqueue) => Timing.MedianMs(device, stream, 3, 15, enqueue);

    private static string Tflops(double flops, double ms) => $"{flops / (ms * 1e9):F0}";
}
