using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.TensorParallel;
using Brim.Backends.Cuda.Weights;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cuda;

/// <summary>
/// Runs Llama-family models (Llama 2/3, Mistral, Qwen2, llama2.c) on one NVIDIA GPU: bf16 weights and activations
/// with fp32 accumulation and an fp32 residual stream, cuBLAS for the projections, NVRTC-compiled kernels for the
/// rest, a paged KV cache in bf16 or FP8 (E4M3, a scale per token and KV head), decode steps replayed as CUDA graphs
/// and sampling on the device.
/// </summary>
public sealed unsafe partial class CudaBackend : IModelBackend
{
    private readonly ModelConfig _config;
    private readonly RankCollectives? _rank;
    private readonly int _vocab;
    private readonly CudaBackendOptions _options;
    private readonly AttentionShape _shape;
    private readonly CudaDevice _device;
    private readonly CudaStream _stream;
    private readonly CublasHandle _blas;
    private readonly ModelKernels _kernels;
    private readonly DeviceWeights _weights;
    private readonly DeviceBuffer _inverseFrequencies;
    private readonly ForwardPass _pass;
    private readonly QuantizeKernels? _quantize;
    private readonly QuantGemvKernel? _quantGemv;
    private readonly QuantMmaKernel? _quantMma;
    private readonly Fp8Gemm? _fp8Gemm;
    private readonly DecodeLanes? _lanes;
    private readonly Bf16GemmTuner? _gemmTuner;
    private readonly DeviceBuffer? _dequantScratch;
    private readonly LinearLayers _linears;
    private readonly DecodeGraphs _graphs;
    private StepBuffers _buffers;
    private PagedKvCache? _cache;
    private readonly StepOutputCopier _outputs;
    private KvSwapSpace? _swap;
    private bool _disposed;
    private bool _tensorCorePrefill;

    /// <summary>
    /// Loads <paramref name="model"/>: float weights as bf16; weights quantized on load (<c>--quantization</c>) are
    /// quantized on the device from the unrounded floats; a quantized checkpoint is repacked into the device layouts.
    /// </summary>
    public CudaBackend(LoadedModel model, CudaBackendOptions? options = null)
        : this(model.Config, model.Quantization?.Unquantized ?? model.Weights, options, model.Quantization)
    {
    }

    public CudaBackend(ModelConfig config, IWeightSource weights, CudaBackendOptions? options = null, ModelQuantization? quantization = null)
        : this(config, weights, options, quantization, rank: null)
    {
    }

    /// <summary>
    /// A tensor-parallel rank (<see cref="TensorParallelCudaBackend"/>): <paramref name="config"/> and
    /// <paramref name="weights"/> are the rank's slice with its padded vocabulary, on the device of
    /// <paramref name="rank"/>'s communicator; its steps sum and gather through <paramref name="rank"/> and its logits,
    /// sampling and outputs span the whole vocabulary.
    /// </summary>
    internal CudaBackend(ModelConfig config, IWeightSource weights, CudaBackendOptions? options, ModelQuantization? quantization, RankCollectives? rank)
    {
        config.Validate();
        if (config.AttentionOutputBias)
        {
            throw new NotSupportedException($"{config.Architecture} with an o_proj bias is not supported by the CUDA backend yet");
        }

        _config = config;
        _rank = rank;
        _vocab = rank?.FullVocab ?? config.VocabSize;
        _options = options ?? new CudaBackendOptions();
        if (_options.KvCacheDType == KvCacheDType.Int8)
        {
            throw new NotSupportedException("--kv-cache-dtype int8 is the CPU backend's format; the CUDA backend supports auto (bf16) and fp8");
        }

        _shape = AttentionShape.From(config, kvFp8: _options.KvCacheDType == KvCacheDType.Fp8);
        _shape.Validate();
        _device = CudaDevice.Open(_options.DeviceOrdinal);
        try
        {
            if (_shape.KvFp8 && _device.ComputeCapability < MinFp8ComputeCapability)
            {
                throw new NotSupportedException(
                    $"--kv-cache-dtype fp8 needs a GPU of compute capability 8.9 or newer (Ada, Hopper) for E4M3 conversion; {_device.Name} is {_device.ComputeCapability / 10}.{_device.ComputeCapability % 10}");
            }

            _stream = new CudaStream(
                _device, _options.HighStreamPriority,
                programmaticLaunch: _options.UseProgrammaticLaunch && _device.ComputeCapability >= CudaStream.MinProgrammaticLaunchComputeCapability);
            _blas = new CublasHandle(_device, _stream);
            var kernelCache = _options.KernelCacheDirectory ?? KernelCompiler.DefaultCacheDirectory();
            var compiler = new KernelCompiler(_device.ComputeCapability, _device.DriverVersion, kernelCache, _options.Progress);
            _kernels = new ModelKernels(_device, compiler, _shape);
            rank?.Attach(_device, compiler);
            var plan = ProjectionPlan.For(config, quantization);
            _quantize = plan.Quantizes ? new QuantizeKernels(_device, compiler) : null; // a bf16 model compiles nothing of it
            using (var weightKernels = new WeightKernels(_device, compiler))
            using (var uploader = new WeightUploader(_device, _stream, weightKernels, config, weights))
            {
                _weights = DeviceWeights.Load(_device, _stream, uploader, _quantize, config, plan);
            }

            if (_weights.ProjectionFormat != WeightFormat.Bf16)
            {
                _quantGemv = new QuantGemvKernel(_device, compiler, _weights.ProjectionFormat, tensorCores: _options.UseQuantTensorCoreGemv)
                {
                    TensorCoreMinRows = QuantGemvKernel.ServingTensorCoreMinRows,
                };
                _quantMma = new QuantMmaKernel(_device, compiler, _weights.ProjectionFormat);
                if (_weights.ProjectionFormat == WeightFormat.Fp8)
                {
                    (_fp8Gemm, Fp8GemmNote) = CreateFp8Gemm(config, compiler);
                }

                var largest = ProjectionPlan.Projections(config, 0).Max(p => p.Members.Sum(m => (long)m.Rows) * p.InFeatures);
                _dequantScratch = new DeviceBuffer(_device, largest * 2);
            }

            (_gemmTuner, GemmTuningNote) = CreateGemmTuner();
            _linears = new LinearLayers(_stream, _blas, _kernels.Gemv, _kernels.SwiGlu, _quantGemv, _quantMma, _fp8Gemm, _quantize, _dequantScratch, _gemmTuner)
            {
                UseFp8Gemm = _options.UseFp8Gemm,
            };

            var frequencies = RopeFrequencies.Compute(config);
            _inverseFrequencies = new DeviceBuffer(_device, frequencies.Length * sizeof(float));
            _stream.Upload<float>(_inverseFrequencies.Pointer, frequencies);
            _pass = new ForwardPass(config, _shape, _stream, _linears, _kernels, _weights, _inverseFrequencies.Pointer, rank);
            if (_options.UseDecodeLanes && rank is null)
            {
                _lanes = new DecodeLanes(
                    _device, _stream, laneStream => _fp8Gemm is null ? null : CreateFp8Gemm(config, compiler, laneStream).Gemm, _dequantScratch?.Bytes ?? 0,
                    config, _shape, _kernels, _quantGemv, _quantMma, _quantize, _weights, _inverseFrequencies.Pointer, _linears);
            }

            _outputs = new StepOutputCopier(_device, _stream, _vocab);
            _graphs = new DecodeGraphs(_device, _stream);
            _tensorCorePrefill = _options.UseTensorCorePrefillAttention;
            var initial = new StepCapacity(
                Math.Max(DecodeGraphs.Buckets[^1], _options.InitialMaxBatchTokens),
                Math.Max(DecodeGraphs.Buckets[^1], _options.InitialMaxLogitRows),
                4096);
            _buffers = new StepBuffers(_device, BufferConfig, _shape, initial);
            rank?.EnsureRows(initial.LogitRows);
            if (_gemmTuner is not null)
            {
                // The step buffers are the scratch: every step overwrites what it reads of them. Finite activations, as
                // data; so the dequantization buffer, which stands in for the weights of the dequantized products.
                _stream.Fill(_buffers.Activated.Pointer, 0x3C, _buffers.Activated.Bytes);
                if (_dequantScratch is not null)
                {
                    _stream.Fill(_dequantScratch.Pointer, 0x3C, _dequantScratch.Bytes);
                }

                GemmTuningNote = _gemmTuner.TuneAll(DecodeProducts(), _buffers.Activated, _buffers.GateUp, _buffers.Logits, SavedGemmTunings(kernelCache));
            }
        }
        catch
        {
            rank?.Dispose();
            _device.Dispose();
            throw;
        }
    }

    /// <summary>E4M3 conversion instructions (cvt.*.e4m3x2) arrived with sm_89.</summary>
    public const int MinFp8ComputeCapability = 89;

    public string DeviceName => _device.Name;

    public int VocabSize => _vocab;

    /// <summary>What the step buffers are sized for: the model, with the whole vocabulary's logits on a tensor-parallel rank.</summary>
    private ModelConfig BufferConfig => _config with { VocabSize = _vocab };

    public bool SupportsDeviceSampling => true;

    /// <summary>Pinned host swap space, copies ordered on the compute stream (<see cref="KvSwapSpace"/>).</summary>
    public IKvSwapSpace SwapSpace => _swap ??= new KvSwapSpace(_device, _stream, _config, _shape, () => _cache);

    /// <summary>Measures the device's copy bandwidth and bf16 GEMM rate (about a second; allocates ~3 GB transiently).</summary>
    public Ceilings MeasureCeilings() => Ceilings.Measure(_device, _stream);

    /// <summary>Device bytes the weights occupy.</summary>
    public long WeightBytes => _weights.Bytes;

    /// <summary>
    /// Whether a CUDA device and the libraries this backend needs (driver, NVRTC, cuBLAS) are usable here; when not,
    /// <paramref name="reason"/> says why (for <c>--device auto</c> falling back to the CPU).
    /// </summary>
    public static bool IsAvailable(out string reason)
    {
        if (!NativeLibraries.TryLoad(NativeLibraries.Driver, out _, out reason))
        {
            reason = $"no CUDA driver: {reason}";
            return false;
        }

        try
        {
            var init = CuDriver.cuInit(0);
            if (init != 0)
            {
                reason = $"cuInit failed: {CuDriver.Describe(init)}";
                return false;
            }

            CuDriver.Check(CuDriver.cuDeviceGetCount(out var count), "cuDeviceGetCount");
            if (count == 0)
            {
                reason = "the CUDA driver reports no device";
                return false;
            }
        }
        catch (Exception e) when (e is CudaException or EntryPointNotFoundException or DllNotFoundException)
        {
            reason = e.Message;
            return false;
        }

        if (!NativeLibraries.TryLoad(NativeLibraries.Nvrtc, out _, out var nvrtc))
        {
            reason = $"no NVRTC: {nvrtc}";
            return false;
        }

        if (!NativeLibraries.TryLoad(NativeLibraries.Cublas, out _, out var cublas))
        {
            reason = $"no cuBLAS: {cublas}";
            return false;
        }

        reason = string.Empty;
        return true;
    }

    public long KvBytesPerBlock(int blockSize) => PagedKvCache.BytesPerBlock(_config, _shape, blockSize);

    public long AvailableKvCacheBytes(double memoryUtilization)
    {
        if (memoryUtilization is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(memoryUtilization), memoryUtilization, "must be in (0, 1]");
        }

        var (free, total) = _device.MemoryInfo();
        var used = total - free;
        return Math.Max(0, (long)(total * memoryUtilization) - used);
    }

    public void AllocateKvCache(int numBlocks, int blockSize)
    {
        if (_cache is not null)
        {
            throw new InvalidOperationException("the KV cache is already allocated");
        }

        _device.MakeCurrent();
        _cache = new PagedKvCache(_device, _config, _shape, numBlocks, blockSize);
    }

    /// <summary>Zeroes the KV cache (for the harness, which decodes at positions no prefill wrote).</summary>
    internal void ClearKvCache()
    {
        var cache = _cache ?? throw new InvalidOperationException("AllocateKvCache must be called before ClearKvCache");
        _device.MakeCurrent();
        cache.Clear(_stream);
        _stream.Synchronize();
    }

    public void Forward(ForwardBatch batch, ForwardOutput output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var cache = _cache ?? throw new InvalidOperationException("AllocateKvCache must be called before Forward");
        if (batch.BlockSize != cache.BlockSize)
        {
            throw new ArgumentException($"batch block size {batch.BlockSize} differs from the KV cache's {cache.BlockSize}");
        }

        if (output.VocabSize != _vocab)
        {
            throw new ArgumentException($"output is sized for a vocabulary of {output.VocabSize}, the model has {_vocab}");
        }

        _device.MakeCurrent();
        var sample = batch.DeviceSampling is not null;
        var decodeShaped = IsDecodeShaped(batch, VerifyGraphs);
        // A step the stage clock times runs eagerly on one stream: its events measure the kernels, not a graph's replay.
        var timed = _pass.Clock is not null;
        var decode = _options.UseCudaGraphs && decodeShaped && !timed;
        var tokens = decode ? DecodeGraphs.BucketFor(batch.TokenCount) : batch.TokenCount;
        var logitRows = decode ? tokens : batch.LogitRows;
        EnsureCapacity(tokens, logitRows, StepMetadata.BlockTableEntries(batch));

        var b = _buffers;
        var meta = b.HostMetadata.AsSpan<int>(0, b.Layout.TotalInts);
        var tiling = !decode && TensorCorePrefill && HasMultiTokenSlice(batch) ? _kernels.PrefillTiling(LongPrefillTiles) : PrefillTiling.None;
        var (maxContext, queryTiles, longQueryTiles, decodeRows, usedInts) = StepMetadata.Write(batch, meta, b.Layout, tokens, logitRows, cache.NumBlocks, _vocab, tiling);
        _stream.CopyToDevice(b.Metadata.Pointer, b.HostMetadata.Pointer, (long)usedInts * sizeof(int));

        // Decode rows that share a step with prefill tiles run on the decode kernel, split for their own row count.
        var attentionRows = queryTiles + longQueryTiles > 0 ? decodeRows : tokens;
        // A large decode step may run as two halves on two streams (DecodeLanes); its attention is split for a half's rows.
        var laned = _lanes is not null && !timed && queryTiles + longQueryTiles == 0 && decodeShaped && _lanes.Splits(tokens, _pass.StreamRows());
        LanedSteps += laned ? 1 : 0;
        var partitions = AttentionKernel.ChoosePartitions(
            Math.Max(1, laned ? DecodeLanes.HalfRows(tokens) : attentionRows), _config.NumKvHeads, maxContext, _device.MultiprocessorCount, _kernels.Attention.CtasPerMultiprocessorTarget, _kernels.Attention.MinPositionsPerPartition);
        if (decode)
        {
            _graphs.Run((tokens, partitions, sample), laned
                ? () => _lanes!.Enqueue(_pass, b, cache, tokens, logitRows, partitions, sample)
                : () => _pass.Enqueue(b, cache, tokens, logitRows, partitions, sample));
        }
        else if (laned)
        {
            _lanes!.Enqueue(_pass, b, cache, tokens, logitRows, partitions, sample);
        }
        else
        {
            _pass.Enqueue(b, cache, tokens, logitRows, partitions, sample, queryTiles, longQueryTiles, decodeRows);
        }

        _outputs.Copy(batch, output, sample, _buffers);
        _pass.Clock?.Collect();
    }

    /// <summary>Changes which kernels the linear layers use: waits for the stream and drops the graphs captured with the old ones.</summary>
    private void Reconfigure(Action change)
    {
        _stream.Synchronize();
        _graphs.Clear();
        change();
        _lanes?.Follow(_linears);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _device.MakeCurrent();
        _stream.Synchronize();
        _graphs.Dispose();
        _pass.Clock?.Dispose();
        _buffers.Dispose();
        _rank?.Dispose();
        _cache?.Dispose();
        _swap?.Dispose();
        _outputs.Dispose();
        _weights.Dispose();
        _lanes?.Dispose();
        _dequantScratch?.Dispose();
        _quantGemv?.Dispose();
        _quantMma?.Dispose();
        _fp8Gemm?.Dispose();
        _gemmTuner?.Dispose();
        _quantize?.Dispose();
        _inverseFrequencies.Dispose();
        _kernels.Dispose();
        _blas.Dispose();
        _stream.Dispose();
        _device.Dispose();
    }

    /// <summary>
    /// Whether the step can replay a decode graph: it fits the largest bucket and every token is a logit row, so token
    /// row r is logit row r as in a padded decode step. That holds for a one-token sampled slice (decode) and, when
    /// <paramref name="verify"/>, for a slice of a decode token and the draft it verifies (1 + k tokens, 1 + k logit
    /// rows): its rows differ from k + 1 decode rows only in sharing a block table, and each attends to its own context
    /// (position + 1) after the step's K/V are written, which the decode attention kernel does per row. A step with a
    /// prefill chunk (fewer logit rows than tokens) runs eagerly.
    /// </summary>
    private static bool IsDecodeShaped(ForwardBatch batch, bool verify)
    {
        if (batch.TokenCount > DecodeGraphs.Buckets[^1])
        {
            return false;
        }

        foreach (var s in batch.Slices)
        {
            if (!s.NeedsLogits || s.LogitTokens != s.TokenCount || (s.TokenCount > 1 && !verify))
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasMultiTokenSlice(ForwardBatch batch)
    {
        foreach (var s in batch.Slices)
        {
            if (s.TokenCount > 1)
            {
                return true;
            }
        }

        return false;
    }

    private void EnsureCapacity(int tokens, int logitRows, int blockTableEntries)
    {
        if (_buffers.Capacity.Holds(tokens, logitRows, blockTableEntries))
        {
            return;
        }

        if (tokens > 65535)
        {
            throw new ArgumentException($"a step of {tokens} tokens exceeds the 65535 rows one attention launch covers");
        }

        var grown = _buffers.Capacity.GrownToHold(tokens, logitRows, blockTableEntries);
        _stream.Synchronize();
        _graphs.Clear();
        _buffers.Dispose();
        _buffers = new StepBuffers(_device, BufferConfig, _shape, grown);
        _rank?.EnsureRows(grown.LogitRows);
        _fp8Gemm?.EnsureRows(grown.Tokens);
        _lanes?.EnsureRows(grown.Tokens);
    }
}
