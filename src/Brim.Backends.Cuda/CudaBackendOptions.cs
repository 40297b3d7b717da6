using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda;

/// <summary>Settings of a <see cref="CudaBackend"/>.</summary>
public sealed record CudaBackendOptions
{
    public int DeviceOrdinal { get; init; }

    /// <summary>
    /// Replay decode steps (every slice one token, or one token and the speculative draft it verifies: every position a
    /// logit row) as CUDA graphs per row-count bucket.
    /// </summary>
    public bool UseCudaGraphs { get; init; } = true;

    /// <summary>
    /// Run the attention of steps with multi-token slices (prefill) on the tensor-core kernel, where the model shape and
    /// device support it (head_dim a multiple of 16 up to 128, sm_80+); otherwise the per-row paged kernel serves them.
    /// </summary>
    public bool UseTensorCorePrefillAttention { get; init; } = true;

    /// <summary>
    /// With FP8 projections, run products past quant_mma.cu's rows (prefill-sized) W8A8 on cuBLASLt: activations
    /// quantized per token to E4M3, twice bf16's tensor rate, no pass dequantizing the weights. Off: dequantize the
    /// weight to bf16 for cuBLAS, as before. Defaults to on unless the environment sets BRIM_FP8_GEMM=0, so one build
    /// can run a benchmark both ways.
    /// </summary>
    public bool UseFp8Gemm { get; init; } = Environment.GetEnvironmentVariable("BRIM_FP8_GEMM") is not ("0" or "off" or "false");

    /// <summary>
    /// At startup, time each bf16 product shape decode steps run through cuBLAS (the projections and lm_head at every
    /// decode bucket past gemv's rows, weights of 4 MiB or more) with cublasGemmEx and with the cuBLASLt heuristic's
    /// candidates, and run each shape on the fastest cuBLASLt algorithm where it beats GemmEx (about a second for an 8B
    /// model). Defaults to on unless the environment sets BRIM_GEMM_TUNE=0, so one build can run a benchmark both ways.
    /// </summary>
    public bool UseGemmTuning { get; init; } = Environment.GetEnvironmentVariable("BRIM_GEMM_TUNE") is not ("0" or "off" or "false");

    /// <summary>
    /// Where the tuned choices are kept between starts (per device, driver and cuBLASLt version): a shape found there is
    /// not timed again, so restarts run the same algorithms and start sooner. Null for gemm-tuning.json in the kernel
    /// cache directory; an empty string keeps them in memory only.
    /// </summary>
    public string? GemmTuningFile { get; init; }

    /// <summary>
    /// Whether saved choices are used (the default); false times every shape afresh and replaces this device's saved
    /// choices, which the environment's BRIM_GEMM_TUNE=fresh asks for (after a driver or clock change the key misses).
    /// </summary>
    public bool ReuseSavedGemmTuning { get; init; } = Environment.GetEnvironmentVariable("BRIM_GEMM_TUNE") is not "fresh";

    /// <summary>
    /// Programmatic dependent launch on sm_90+: the decode path's kernels (norms, rope, decode attention, gemv and
    /// quant_gemv, sampling) start while the previous kernel finishes, a projection's first weight bytes already loading;
    /// each waits for its inputs in the kernel. Defaults to on unless the environment sets BRIM_PDL=0 (to measure both
    /// ways with one build); ignored below sm_90.
    /// </summary>
    public bool UseProgrammaticLaunch { get; init; } = Environment.GetEnvironmentVariable("BRIM_PDL") is not ("0" or "off" or "false");

    /// <summary>
    /// int4, int8 and FP8 projections of decode steps of 2 to 32 token rows on tensor cores (quant_gemv_mma.cu: the unpacked
    /// codes go straight into mma fragments) where the shapes allow it, instead of quant_gemv.cu's CUDA-core products (up to
    /// 8 rows, and always at one row, where they stream faster) and quant_mma.cu's dequantized fragments (up to 32). On by
    /// default (on the H100 at batch 8: int4 1.7x, FP8 1.4x the decode tokens/s; docs/benchmarks.md); the environment's
    /// BRIM_QUANT_MMA=0 turns it off.
    /// </summary>
    public bool UseQuantTensorCoreGemv { get; init; } = Environment.GetEnvironmentVariable("BRIM_QUANT_MMA") is not ("0" or "off" or "false");

    /// <summary>
    /// Decode steps of <see cref="Execution.DecodeLanes.DefaultMinRows"/> rows or more run as two half-batches on two
    /// streams, so one half's attention (bandwidth-bound) can run beside the other half's products (compute-bound at
    /// those rows). Off by default: on the H100 it did not pay (512 rows, FP8: 5,087 against 5,198 tok/s; the halves crossed
    /// took 1.07x the layer in turn, docs/benchmarks.md); the environment's BRIM_DECODE_LANES=1 turns it on. Ignored
    /// by tensor-parallel ranks.
    /// </summary>
    public bool UseDecodeLanes { get; init; } = Environment.GetEnvironmentVariable("BRIM_DECODE_LANES") is "1" or "on" or "true";

    /// <summary>Tokens per step the activation buffers are first sized for (they grow when a batch needs more).</summary>
    public int InitialMaxBatchTokens { get; init; } = 2048;

    /// <summary>Logit rows per step the output buffers are first sized for.</summary>
    public int InitialMaxLogitRows { get; init; } = 256;

    /// <summary>Where compiled kernels are cached; null for the default (~/.cache/brim/kernels or $BRIM_KERNEL_CACHE).</summary>
    public string? KernelCacheDirectory { get; init; }

    /// <summary>Told of each kernel source compiled at startup (cache misses only), for a progress line; null: nobody.</summary>
    public IProgress<LoadProgress>? Progress { get; init; }

    /// <summary>
    /// How the KV cache is stored: <see cref="KvCacheDType.Auto"/> (bf16) or <see cref="KvCacheDType.Fp8"/> (E4M3
    /// with a float scale per token and KV head, sm_89+); int8 is refused by name.
    /// </summary>
    public KvCacheDType KvCacheDType { get; init; } = KvCacheDType.Auto;

    /// <summary>
    /// Put this backend's work on a stream of the context's greatest priority (<c>--model-gpu-priority high</c>): where
    /// several models share the GPU, its kernels' blocks are scheduled first whenever both have work waiting, so a small
    /// model's short steps do not queue behind a large model's.
    /// </summary>
    public bool HighStreamPriority { get; init; }
}
