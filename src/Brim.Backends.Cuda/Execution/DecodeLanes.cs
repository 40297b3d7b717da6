using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// A large decode step as two half-batches on two streams (nano-batching). At a few hundred rows and long contexts a
/// layer's products are compute-bound and its attention is bandwidth-bound, and one stream runs them one after the
/// other; here the first half runs on the backend's stream and the second on this lane's, started once the first has
/// written layer 0's q/k/v, so one half's attention tends to run beside the other half's products. Rows are
/// independent in a decode step (each reads its own KV blocks), so the halves need nothing from each other until the
/// head: the final norm, the output projection and sampling run on the backend's stream over all rows once both
/// halves are done. The lane has what two concurrent passes cannot share: a stream, a cuBLAS handle (bound to its
/// stream, with its workspace), the W8A8 activation buffers, the dequantization scratch and the attention's partition
/// scratch; weights, kernels, KV cache and step buffers are shared (each half writes its own rows).
/// Its bf16 products run cublasGemmEx: the tuner's choices are timed on the backend's stream and workspace.
/// Measured on the H100 (`bench-overlap`, decode steps with the lanes on and off; docs/benchmarks.md), it did not pay:
/// attention at these shapes already reads at the copy ceiling, and products beside it take the bandwidth it needs.
/// </summary>
internal sealed class DecodeLanes : IDisposable
{
    private readonly CudaStream _main;
    private readonly CudaStream _stream;
    private readonly CublasHandle _blas;
    private readonly Fp8Gemm? _fp8Gemm;
    private readonly DeviceBuffer? _dequantScratch;
    private readonly DeviceBuffer _partials;
    private readonly CudaEvent _started;
    private readonly CudaEvent _join;
    private readonly ForwardPass _pass;

    /// <param name="fp8Gemm">A W8A8 path on the lane's stream where the backend has one (FP8 weights), created by the caller.</param>
    public DecodeLanes(
        CudaDevice device, CudaStream main, Func<CudaStream, Fp8Gemm?> fp8Gemm, long dequantScratchBytes, ModelConfig config, AttentionShape shape,
        ModelKernels kernels, QuantGemvKernel? quantGemv, QuantMmaKernel? quantMma, QuantizeKernels? quantize, DeviceWeights weights,
        ulong inverseFrequencies, LinearLayers mainLinears)
    {
        _main = main;
        _stream = new CudaStream(device, main.HighPriority, main.ProgrammaticLaunch);
        try
        {
            _blas = new CublasHandle(device, _stream);
            _fp8Gemm = fp8Gemm(_stream);
            _dequantScratch = dequantScratchBytes > 0 ? new DeviceBuffer(device, dequantScratchBytes) : null;
            _partials = new DeviceBuffer(device, AttentionKernel.PartialFloats(shape) * sizeof(float));
            _started = new CudaEvent(device);
            _join = new CudaEvent(device);
            Linears = new LinearLayers(_stream, _blas, kernels.Gemv, kernels.SwiGlu, quantGemv, quantMma, _fp8Gemm, quantize, _dequantScratch, gemmTuner: null);
            Follow(mainLinears);
            _pass = new ForwardPass(config, shape, _stream, Linears, kernels, weights, inverseFrequencies);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Fewest rows (a decode bucket) a step must have to be split. Below it the products are bound by the weight reads,
    /// which two halves would each make: 256 rows keeps every half past 128, where the products are compute-bound on
    /// the H100.
    /// </summary>
    public const int DefaultMinRows = 256;

    public int MinRows { get; set; } = DefaultMinRows;

    /// <summary>The lane's linear layers (the backend copies its switches over when they change).</summary>
    public LinearLayers Linears { get; }

    /// <summary>Whether a decode step of <paramref name="tokens"/> rows runs split: both halves past the rows every projection streams.</summary>
    public bool Splits(int tokens, int streamRows) => tokens >= MinRows && tokens / 2 > streamRows;

    /// <summary>The rows of the first half (the second takes the rest); the attention's partitions are chosen for these.</summary>
    public static int HalfRows(int tokens) => tokens / 2;

    /// <summary>
    /// Enqueues the step on the backend's stream: the layers of rows [0, half) there and of [half, tokens) on the lane,
    /// joined before <paramref name="main"/>'s head. The lane starts from the event the first half records after layer
    /// 0's q/k/v (after the step's metadata copy, too), so in a capture it joins through that event and leaves through
    /// the join.
    /// </summary>
    public void Enqueue(ForwardPass main, StepBuffers b, PagedKvCache cache, int tokens, int logitRows, int partitions, bool sample)
    {
        var half = HalfRows(tokens);
        main.EnqueueLayers(b, cache, 0, half, gemv: false, partitions, b.AttentionPartials.Pointer, afterFirstQkv: _started);
        _stream.WaitFor(_started);
        _pass.EnqueueLayers(b, cache, half, tokens - half, gemv: false, partitions, _partials.Pointer);
        _join.Record(_stream);
        _main.WaitFor(_join);
        main.EnqueueHead(b, logitRows, sample, main.PendingProjection(b, gemv: false));
    }

    /// <summary>Takes the backend's switches (W8A8 on or off, the streaming limits) so both halves run the same kernels.</summary>
    public void Follow(LinearLayers mainLinears)
    {
        Linears.UseFp8Gemm = mainLinears.UseFp8Gemm;
        Linears.GemvMaxRows = mainLinears.GemvMaxRows;
        Linears.QuantGemvMaxRows = mainLinears.QuantGemvMaxRows;
        Linears.QuantMmaMaxRows = mainLinears.QuantMmaMaxRows;
    }

    /// <summary>Grows the lane's W8A8 activation buffers with the step buffers (outside any capture).</summary>
    public void EnsureRows(int rows) => _fp8Gemm?.EnsureRows(rows);

    public void Dispose()
    {
        _stream?.Synchronize();
        _join?.Dispose();
        _started?.Dispose();
        _partials?.Dispose();
        _dequantScratch?.Dispose();
        _fp8Gemm?.Dispose();
        _blas?.Dispose();
        _stream?.Dispose();
    }
}
