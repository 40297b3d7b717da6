using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// Runs the linear layers of a step on the kernel that suits its rows and the weight's format: few rows stream the
/// weights through gemv.cu (bf16) or quant_gemv.cu (quantized, dequantized in registers), the residual add and SwiGLU
/// fused; more rows run cuBLAS (bf16), or for quantized weights quant_mma.cu (tensor cores, dequantized in registers)
/// up to <see cref="QuantMmaMaxRows"/> rows. Past that FP8 weights run W8A8 on cuBLASLt (<see cref="Fp8Gemm"/>: E4M3
/// activations per token, the scales applied after the product, SwiGLU fused into the gate/up epilogue) where it has an
/// algorithm for the shape and <see cref="UseFp8Gemm"/> is on; every other case runs cuBLAS on the weight dequantized
/// to bf16 in a scratch buffer the size of the largest projection (prefill-sized steps are compute-bound, where the
/// extra pass costs least). A bf16 product of a shape decode steps run takes the cuBLASLt algorithm
/// <see cref="Bf16GemmTuner"/> timed fastest for it, where one beat GemmEx and <see cref="UseGemmTuning"/> is on.
/// </summary>
internal sealed class LinearLayers(
    CudaStream stream, CublasHandle blas, GemvKernel gemv, SwiGluKernel swiGlu, QuantGemvKernel? quantGemv, QuantMmaKernel? quantMma,
    Fp8Gemm? fp8Gemm, QuantizeKernels? quantize, DeviceBuffer? dequantScratch, Bf16GemmTuner? gemmTuner)
{
    /// <summary>
    /// Steps of at most this many token rows run bf16 linear layers on the gemv kernel, which streams weights faster
    /// than cuBLAS at one or two rows (H100 decode steps: 6.01 against 6.42 ms at one row, 6.14 against 6.45 at two; at four
    /// rows cuBLAS wins, 6.48 against 6.90 ms, because each extra row adds fp32 work per weight byte).
    /// </summary>
    public const int DefaultGemvMaxRows = 2;

    /// <summary>Settable so the benchmark harness can time both paths; changing it invalidates captured graphs.</summary>
    public int GemvMaxRows { get; set; } = DefaultGemvMaxRows;

    /// <summary>
    /// Steps of at most this many rows run quantized weights on quant_gemv.cu, or on its tensor-core kernel where the
    /// layer runs there (settable for the harness; each layer's own limit, <see cref="QuantGemvKernel.MaxRowsFor"/>, caps it).
    /// </summary>
    public int QuantGemvMaxRows { get; set; } = QuantGemvKernel.MmaMaxRows;

    /// <summary>Quantized products of at most this many rows (past the streaming kernel's) run on quant_mma.cu (settable for the harness).</summary>
    public int QuantMmaMaxRows { get; set; } = QuantMmaKernel.DefaultMaxRows;

    /// <summary>
    /// Whether FP8 products past quant_mma.cu's rows run W8A8 on cuBLASLt (where it is available) rather than on the
    /// weight dequantized to bf16: <see cref="CudaBackendOptions.UseFp8Gemm"/>, settable so the harness and the tests
    /// can run both paths on one loaded model.
    /// </summary>
    public bool UseFp8Gemm { get; set; } = true;

    /// <summary>
    /// Whether bf16 products of tuned shapes run their tuned cuBLASLt algorithm (<see cref="CudaBackendOptions.UseGemmTuning"/>),
    /// settable so the harness and the tests can run both paths on one loaded model.
    /// </summary>
    public bool UseGemmTuning { get; set; } = true;

    /// <summary>Most rows for which this projection runs on a streaming kernel (0: never).</summary>
    public int StreamRows(LinearWeight w, int inFeatures, int outFeatures, bool gated = false) => w.Format switch
    {
        WeightFormat.Bf16 => GemvKernel.Fits(1, inFeatures) ? GemvMaxRows : 0,
        _ => quantGemv is not null && QuantGemvKernel.Fits(1, outFeatures, w.Format, gated) && LinearWeight.Unsupported(w.Format, inFeatures, w.GroupWidth) is null
            ? Math.Min(QuantGemvMaxRows, quantGemv.MaxRowsFor(outFeatures, inFeatures, w.GroupWidth, gated))
            : 0,
    };

    /// <summary>y = x · wᵀ on a streaming kernel (<paramref name="streaming"/>, rows within <see cref="StreamRows"/>) or on cuBLAS.</summary>
    public void Project(bool streaming, LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outFeatures, bool fp32Output = false)
    {
        if (!streaming)
        {
            Gemm(w, x, y, rows, inFeatures, outFeatures, fp32Output);
        }
        else if (w.IsQuantized)
        {
            QuantGemv(w).Linear(stream, w, x, y, rows, inFeatures, outFeatures, fp32Output);
        }
        else
        {
            gemv.Linear(stream, w.Codes, x, y, rows, inFeatures, outFeatures, fp32Output);
        }
    }

    /// <summary>residual += x · wᵀ on a streaming kernel.</summary>
    public void AddInto(LinearWeight w, ulong x, ulong residual, int rows, int inFeatures, int outFeatures)
    {
        if (w.IsQuantized)
        {
            QuantGemv(w).AddInto(stream, w, x, residual, rows, inFeatures, outFeatures);
        }
        else
        {
            gemv.AddInto(stream, w.Codes, x, residual, rows, inFeatures, outFeatures);
        }
    }

    /// <summary>output = silu(x · gateᵀ) * (x · upᵀ) on a streaming kernel.</summary>
    public void GateUpSilu(LinearWeight gateUp, ulong x, ulong output, int rows, int inFeatures, int ff)
    {
        if (gateUp.IsQuantized)
        {
            QuantGemv(gateUp).GateUpSilu(stream, gateUp, x, output, rows, inFeatures, ff);
        }
        else
        {
            gemv.GateUpSilu(stream, gateUp.Codes, x, output, rows, inFeatures, ff);
        }
    }

    /// <summary>
    /// output = silu(x · gateᵀ) * (x · upᵀ) past the streaming kernels' rows: the product into <paramref name="gateUpScratch"/>
    /// [rows, 2·ff], then SwiGLU into <paramref name="output"/> (one fused epilogue on the W8A8 path).
    /// </summary>
    public void GemmSilu(LinearWeight gateUp, ulong x, ulong gateUpScratch, ulong output, int rows, int inFeatures, int ff)
    {
        if (W8A8(gateUp, gateUpScratch, rows, inFeatures, 2 * ff, fp32Output: false) is { } lt
            && lt.TryGateUpSilu(gateUp, x, gateUpScratch, output, rows, inFeatures, ff))
        {
            return;
        }

        Gemm(gateUp, x, gateUpScratch, rows, inFeatures, 2 * ff);
        swiGlu.Apply(stream, gateUpScratch, output, rows, ff);
    }

    /// <summary>
    /// y = x · wᵀ on cuBLAS (GemmEx, or the shape's tuned cuBLASLt algorithm), a quantized weight dequantized to bf16 first
    /// (or quant_mma.cu, or W8A8 on cuBLASLt).
    /// </summary>
    public void Gemm(LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outFeatures, bool fp32Output = false)
    {
        var matrix = w.Codes;
        if (w.IsQuantized && !fp32Output && rows <= QuantMmaMaxRows && quantMma is { } mma && mma.Format == w.Format)
        {
            mma.Linear(stream, w, x, y, rows, inFeatures, outFeatures);
            return;
        }

        if (W8A8(w, y, rows, inFeatures, outFeatures, fp32Output) is { } lt && lt.TryLinear(w, x, y, rows, inFeatures, outFeatures))
        {
            return;
        }

        if (w.IsQuantized)
        {
            var scratch = dequantScratch ?? throw new InvalidOperationException("a quantized projection without a dequantization buffer");
            var kernels = quantize ?? throw new InvalidOperationException("a quantized projection without the dequantize kernel");
            if (scratch.Bytes < (long)outFeatures * inFeatures * 2)
            {
                throw new InvalidOperationException($"the dequantization buffer ({scratch.Bytes} bytes) is smaller than a [{outFeatures}, {inFeatures}] bf16 weight");
            }

            kernels.Dequantize(stream, w, scratch.Pointer, outFeatures, inFeatures);
            matrix = scratch.Pointer;
        }

        if (!(UseGemmTuning && gemmTuner is { } tuner && tuner.TryLinear(matrix, x, y, rows, inFeatures, outFeatures, fp32Output)))
        {
            blas.Linear(matrix, x, y, rows, inFeatures, outFeatures, fp32Output);
        }
    }

    /// <summary>The W8A8 path when it takes this product (past quant_mma.cu's rows, FP8, bf16 output, a cuBLASLt algorithm), else null.</summary>
    private Fp8Gemm? W8A8(LinearWeight w, ulong y, int rows, int inFeatures, int outFeatures, bool fp32Output)
        => w.Format == WeightFormat.Fp8 && !fp32Output && UseFp8Gemm && rows > QuantMmaMaxRows
            && fp8Gemm is { } lt && lt.CanRun(w, y, rows, inFeatures, outFeatures)
            ? lt
            : null;

    private QuantGemvKernel QuantGemv(LinearWeight w) => quantGemv is { } kernel && kernel.Format == w.Format
        ? kernel
        : throw new InvalidOperationException($"no streaming kernel for {w.Format} weights");
}
