using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launcher for quant_gemv.cu: weight-only quantized linear layers over at most <see cref="MaxRows"/> token rows, the
/// weights dequantized in registers. One module per format (QUANT_FORMAT), compiled when a model of that format loads.
/// </summary>
internal sealed class QuantGemvKernel : IDisposable
{
    /// <summary>
    /// Most token rows one launch covers. Each row adds an fp32 multiply-add per weight; at 8 rows int4 is compute-bound
    /// on CUDA cores, still well under dequantizing the weight to bf16 for cuBLAS (which writes and reads it again).
    /// </summary>
    public const int MaxRows = 8;

    private const int Warps = 8;
    private const int ModeBf16 = 0, ModeF32 = 1, ModeResidual = 3;
    private readonly CudaModule _module;
    private readonly KernelFunction[] _plain;
    private readonly KernelFunction[] _gated;

    /// <param name="factored">
    /// Whether a chunk's products are summed unscaled and scaled once (the default); false scales every weight, which
    /// the kernel harness compiles to compare.
    /// </param>
    public QuantGemvKernel(CudaDevice device, KernelCompiler compiler, WeightFormat format, bool factored = true)
    {
        if (format == WeightFormat.Bf16)
        {
            throw new ArgumentException("quant_gemv runs quantized formats; bf16 runs on gemv.cu", nameof(format));
        }

        Format = format;
        _module = new CudaModule(device, compiler.Compile("quant_gemv.cu", new Dictionary<string, int> { ["QUANT_FORMAT"] = (int)format, ["QUANT_FACTORED"] = factored ? 1 : 0 }), $"quant_gemv.cu ({format})");
        _plain = [.. Enumerable.Range(1, MaxRows).Select(m => _module.GetFunction($"quant_gemv_{m}").WithProgrammaticLaunch())];
        _gated = [.. Enumerable.Range(1, MaxRows).Select(m => _module.GetFunction($"quant_gemv_gated_{m}").WithProgrammaticLaunch())];
    }

    public WeightFormat Format { get; }

    /// <summary>Weight rows one warp streams (one activation load serves them all).</summary>
    public static int WeightRowsPerWarp(WeightFormat format) => format == WeightFormat.Int4 ? 4 : 2;

    /// <summary>
    /// Warps that split one row group's chunks (1 or 2). Measured on the H100 at the 8B decode shapes (`bench-quant`):
    /// splitting helps only long rows at one token row (down, 448 int4 / 896 8-bit chunks: 1.1-1.2x the GB/s at 2 warps);
    /// elsewhere it costs, and from 4 token rows it costs a lot (a split's warp sums and shared-memory reduction are
    /// per warp, and each warp keeps fewer loads in flight): int4 qkv at 4 rows 710 GB/s unsplit, 339 at 4 warps.
    /// </summary>
    public static int SplitFor(WeightFormat format, int inFeatures, int tokenRows)
        => tokenRows == 1 && LinearWeight.CodeBytes(format, 1, inFeatures) / 16 >= 384 ? 2 : 1;

    /// <summary>Whether a layer of this shape runs here (the weight's own layout is checked when it is built).</summary>
    public static bool Fits(int rows, int outputs, WeightFormat format, bool gated = false)
        => rows is > 0 and <= MaxRows && outputs % (WeightRowsPerWarp(format) / (gated ? 2 : 1)) == 0;

    /// <summary>y[rows, outFeatures] = x[rows, inFeatures] · wᵀ, y bf16 or fp32.</summary>
    /// <param name="split">Warps a row group's chunks are split over (1, 2, 4, 8; the harness times each); 0 chooses (<see cref="SplitFor"/>).</param>
    public void Linear(CudaStream stream, LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outFeatures, bool fp32Output = false, int split = 0)
        => Run(stream, w, x, y, rows, inFeatures, outFeatures, fp32Output ? ModeF32 : ModeBf16, gated: false, split);

    /// <summary>residual[rows, outFeatures] += x · wᵀ in place (fp32).</summary>
    public void AddInto(CudaStream stream, LinearWeight w, ulong x, ulong residual, int rows, int inFeatures, int outFeatures, int split = 0)
        => Run(stream, w, x, residual, rows, inFeatures, outFeatures, ModeResidual, gated: false, split);

    /// <summary>output[rows, ff] = silu(x · gateᵀ) * (x · upᵀ), <paramref name="gateUp"/> [2·ff, inFeatures] (gate rows, then up rows).</summary>
    public void GateUpSilu(CudaStream stream, LinearWeight gateUp, ulong x, ulong output, int rows, int inFeatures, int ff, int split = 0)
        => Run(stream, gateUp, x, output, rows, inFeatures, ff, ModeBf16, gated: true, split);

    public void Dispose() => _module.Dispose();

    private void Run(CudaStream stream, LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outputs, int mode, bool gated, int split)
    {
        Launch.Positive(outputs, nameof(outputs));
        if (w.Format != Format)
        {
            throw new ArgumentException($"a {w.Format} weight on the {Format} kernel");
        }

        if (!Fits(rows, outputs, Format, gated) || LinearWeight.Unsupported(Format, inFeatures, w.GroupWidth) is not null)
        {
            throw new ArgumentException($"quant_gemv ({Format}) cannot run rows {rows}, in {inFeatures}, out {outputs}, group {w.GroupWidth}");
        }

        if ((w.Codes | x) % 16 != 0 || w.Scales % 4 != 0)
        {
            throw new ArgumentException("quant_gemv needs 16-byte aligned codes and activations, 4-byte aligned scales");
        }

        var a = default(KernelArguments);
        a.Add(w.Codes);
        a.Add(w.Scales);
        a.Add(x);
        a.Add(y);
        a.Add(outputs);
        a.Add(inFeatures);
        a.Add(w.GroupWidth);
        a.Add(mode);
        if (split == 0)
        {
            split = SplitFor(Format, inFeatures, rows);
        }

        if (split is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(split), split, "quant_gemv splits a row group over 1, 2, 4 or 8 warps");
        }

        a.Add(split);
        var outputsPerWarp = WeightRowsPerWarp(Format) / (gated ? 2 : 1);
        var perBlock = Warps / split * outputsPerWarp;
        (gated ? _gated : _plain)[rows - 1].Launch(stream, (outputs + perBlock - 1) / perBlock, Warps * 32, ref a);
    }
}
