using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda;

/// <summary>
/// The backend's switches and counters: which kernel path each kind of step takes (settable, so the benchmark harness
/// and the tests can run every path on one loaded model; a change drops the captured graphs) and what ran.
/// </summary>
public sealed partial class CudaBackend
{
    /// <summary>
    /// Whether multi-token steps use the tensor-core prefill attention (the option, where supported); settable so the
    /// benchmark harness can time both paths on one loaded model.
    /// </summary>
    internal bool TensorCorePrefill
    {
        get => _tensorCorePrefill && _kernels.PrefillAttention is not null;
        set => _tensorCorePrefill = value;
    }

    /// <summary>
    /// Whether long prefill chunks run on the long-tile kernel (<see cref="PrefillTiling.UsesLongTiles"/>, where the
    /// shape supports it) rather than the small-tile one; settable so the harness can time both on one loaded model.
    /// </summary>
    internal bool LongPrefillTiles { get; set; } = true;

    /// <summary>
    /// Whether verify steps (slices of a decode token and its draft, every position a logit row) replay CUDA graphs as
    /// decode steps do (with <see cref="CudaBackendOptions.UseCudaGraphs"/>); settable so the harness can time the eager
    /// path they took before on one loaded model.
    /// </summary>
    internal bool VerifyGraphs { get; set; } = true;

    /// <summary>
    /// Steps of at most this many rows run their linear layers on the gemv kernel rather than cuBLAS (0: never);
    /// settable so the benchmark harness can time both on one loaded model. Drops captured graphs.
    /// </summary>
    internal int GemvMaxRows
    {
        get => _linears.GemvMaxRows;
        set => Reconfigure(() => _linears.GemvMaxRows = Math.Clamp(value, 0, GemvKernel.MaxRows));
    }

    /// <summary>As <see cref="GemvMaxRows"/> for quantized projections (quant_gemv.cu); settable for the harness. Drops captured graphs.</summary>
    internal int QuantGemvMaxRows
    {
        get => _linears.QuantGemvMaxRows;
        set => Reconfigure(() => _linears.QuantGemvMaxRows = Math.Clamp(value, 0, QuantGemvKernel.MmaMaxRows));
    }

    /// <summary>As <see cref="GemvMaxRows"/> for quant_mma.cu (quantized projections past the streaming kernel's rows). Drops captured graphs.</summary>
    internal int QuantMmaMaxRows
    {
        get => _linears.QuantMmaMaxRows;
        set => Reconfigure(() => _linears.QuantMmaMaxRows = Math.Max(0, value));
    }

    /// <summary>
    /// Whether FP8 products past quant_mma.cu's rows run W8A8 on cuBLASLt (<see cref="CudaBackendOptions.UseFp8Gemm"/>)
    /// rather than on the weight dequantized to bf16; settable so the harness and the tests compare both on one loaded
    /// model. Drops captured graphs.
    /// </summary>
    internal bool UseFp8Gemm
    {
        get => _linears.UseFp8Gemm;
        set => Reconfigure(() => _linears.UseFp8Gemm = value);
    }

    /// <summary>
    /// Whether the steps that follow time each stage (<see cref="StageClock"/>; they run eagerly, without graphs or
    /// lanes). For the harness's profile; turning it off drops what the clock collected.
    /// </summary>
    internal bool TimeStages
    {
        get => _pass.Clock is not null;
        set => Reconfigure(() =>
        {
            if (value)
            {
                _pass.Clock ??= new StageClock(_device);
            }
            else
            {
                _pass.Clock?.Dispose();
                _pass.Clock = null;
            }
        });
    }

    /// <summary>What the stage clock collected while <see cref="TimeStages"/> is on; null while it is off.</summary>
    internal StageClock? StageClock => _pass.Clock;

    /// <summary>W8A8 products run so far (0 where the path is off, missing, or every shape fell back).</summary>
    internal long Fp8GemmProducts => _fp8Gemm?.Products ?? 0;

    /// <summary>Decode steps run as two half-batches on two streams (<see cref="CudaBackendOptions.UseDecodeLanes"/>) so far.</summary>
    internal long LanedSteps { get; private set; }

    /// <summary>
    /// For FP8 projections: how prefill-sized products run (W8A8 on cuBLASLt, or dequantized to bf16 and why), with the
    /// reason of a later fallback once one happened; null for other formats.
    /// </summary>
    public string? Fp8GemmNote
    {
        get => _fp8Gemm?.FallbackReason is { } fallback ? $"{field}; some shapes fall back: {fallback}" : field;
        private set;
    }

    /// <summary>
    /// Whether bf16 products of the decode shapes run the cuBLASLt algorithm tuned for them at startup where it beat
    /// GemmEx (<see cref="CudaBackendOptions.UseGemmTuning"/>); settable so the harness and the tests compare both on one
    /// loaded model. Drops captured graphs.
    /// </summary>
    internal bool UseGemmTuning
    {
        get => _linears.UseGemmTuning;
        set => Reconfigure(() => _linears.UseGemmTuning = value);
    }

    /// <summary>Run every tuned shape's fastest cuBLASLt algorithm even where GemmEx was as fast (tests). Drops captured graphs.</summary>
    internal bool PreferTunedLt
    {
        get => _gemmTuner?.PreferLt ?? false;
        set => Reconfigure(() => _gemmTuner?.PreferLt = value);
    }

    /// <summary>What startup tuning found per shape (empty where it is off or unavailable).</summary>
    internal IReadOnlyList<GemmTuning> GemmTunings => _gemmTuner?.Tunings ?? [];

    /// <summary>bf16 products run on a tuned cuBLASLt algorithm so far.</summary>
    internal long TunedGemmProducts => _gemmTuner?.LtProducts ?? 0;

    /// <summary>
    /// How bf16 decode products run: how many shapes took a tuned cuBLASLt algorithm, or why none is tuned, with the
    /// reason of a later fallback once one happened.
    /// </summary>
    public string GemmTuningNote
    {
        get => _gemmTuner?.FallbackReason is { } fallback ? $"{field}; {fallback}" : field;
        private set;
    } = string.Empty;

    /// <summary>Quantized projections' format and device bytes (what a decode step streams besides lm_head); null when they are bf16.</summary>
    public (string Format, long Bytes)? QuantizedProjections => _weights.ProjectionFormat == WeightFormat.Bf16
        ? null
        : (_weights.ProjectionFormat.ToString().ToLowerInvariant(), _weights.ProjectionBytes);

    /// <summary>CUDA graphs captured so far (decode buckets seen twice).</summary>
    public int CapturedGraphs => _graphs.Count;

    /// <summary>Whether the decode path's kernels launch programmatically (<see cref="CudaBackendOptions.UseProgrammaticLaunch"/> on sm_90+).</summary>
    internal bool ProgrammaticLaunch => _stream.ProgrammaticLaunch;
}
