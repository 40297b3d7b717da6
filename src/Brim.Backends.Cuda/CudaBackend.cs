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
public sealed unsafe class CudaBackend : IModelBackend
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
                _quantGemv = new QuantGemvKernel(_device, compiler, _weights.ProjectionFormat, tensorCores: _options.UseQuantTensorCoreGemv);
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
        var decode = _options.UseCudaGraphs && IsDecodeShaped(batch, VerifyGraphs);
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
        var laned = _lanes is not null && queryTiles + longQueryTiles == 0 && IsDecodeShaped(batch, VerifyGraphs) && _lanes.Splits(tokens, _pass.StreamRows());
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

    /// <summary>
    /// The W8A8 path for FP8 projections, its activation buffers sized as the step buffers are first (they grow
    /// together in <see cref="EnsureCapacity"/>), and the startup note: on, off by option, or unavailable and why.
    /// </summary>
    private (Fp8Gemm? Gemm, string Note) CreateFp8Gemm(ModelConfig config, KernelCompiler compiler, CudaStream? stream = null)
    {
        if (!_options.UseFp8Gemm)
        {
            return (null, "fp8 prefill products dequantize to bf16 (W8A8 off by option)");
        }

        var widest = Math.Max(Math.Max(config.HiddenSize, config.QueryDim), config.IntermediateSize);
        var rows = Math.Max(DecodeGraphs.Buckets[^1], _options.InitialMaxBatchTokens);
        var gemm = Fp8Gemm.TryCreate(_device, stream ?? _stream, compiler, rows, widest, message => Console.Error.WriteLine($"brim: {message}"), out var why);
        return gemm is null
            ? (null, $"fp8 prefill products dequantize to bf16: {why}")
            : (gemm, "fp8 prefill products W8A8 on cuBLASLt (E4M3 activations per token)");
    }

    /// <summary>The tuned choices saved by earlier starts on this device and library (<see cref="CudaBackendOptions.GemmTuningFile"/>).</summary>
    private GemmTuningCache SavedGemmTunings(string kernelCache)
    {
        var path = _options.GemmTuningFile switch
        {
            null => Path.Combine(kernelCache, GemmTuningCache.FileName),
            "" => null,
            var file => file,
        };
        var key = GemmTuningCache.DeviceKeyOf(_device.Name, _device.ComputeCapability, _device.DriverVersion, CublasLt.cublasLtGetVersion());
        var saved = GemmTuningCache.Open(path, key);
        if (!_options.ReuseSavedGemmTuning)
        {
            saved.ForgetThisDevice();
        }

        return saved;
    }

    /// <summary>The tuner of bf16 decode products (its shapes are tuned once the step buffers exist), or none and why.</summary>
    private (Bf16GemmTuner? Tuner, string Note) CreateGemmTuner()
    {
        if (!_options.UseGemmTuning)
        {
            return (null, "bf16 decode products on cublasGemmEx (tuning off by option)");
        }

        var lt = Bf16LtGemm.TryCreate(_device, _stream, out var why);
        return lt is null
            ? (null, $"bf16 decode products on cublasGemmEx: {why}")
            : (new Bf16GemmTuner(_device, _stream, _blas, lt), "bf16 decode products on cublasGemmEx (not tuned yet)");
    }

    /// <summary>
    /// The bf16 products decode steps run through cuBLAS, each with every layer's weight of its shape: the four
    /// projections (where bf16) and lm_head (fp32 logits), at every decode bucket past the rows gemv streams. A quantized
    /// projection runs cuBLAS on its weight dequantized into the scratch buffer past quant_mma.cu's rows (unless W8A8
    /// takes FP8 there), so those shapes are tuned on the scratch buffer.
    /// </summary>
    private IEnumerable<(GemmShape Shape, IReadOnlyList<ulong> Weights)> DecodeProducts()
    {
        int h = _config.HiddenSize, ff = _config.IntermediateSize;
        var layers = _weights.Layers;
        var projections = new (Func<LayerWeights, LinearWeight> Of, int Out, int In)[]
        {
            (w => w.Qkv, _shape.QkvDim, h), (w => w.Output, h, _shape.QueryDim), (w => w.GateUp, 2 * ff, h), (w => w.Down, h, ff),
        };

        // A step's projections stream on gemv only where all of them can: the fewest rows any streams.
        var streamRows = _pass.StreamRows();
        var dequantizes = _dequantScratch is not null && !(_weights.ProjectionFormat == WeightFormat.Fp8 && _fp8Gemm is not null && _linears.UseFp8Gemm);
        foreach (var (of, outFeatures, inFeatures) in projections)
        {
            ulong[] weights = [.. layers.Select(of).Where(w => !w.IsQuantized).Select(w => w.Codes)];
            var pastRows = streamRows;
            if (weights.Length == 0)
            {
                weights = dequantizes ? [_dequantScratch!.Pointer] : [];
                pastRows = Math.Max(streamRows, _linears.QuantMmaMaxRows);
            }

            foreach (var shape in weights.Length == 0 ? [] : Bf16GemmTuner.DecodeShapes(outFeatures, inFeatures, fp32Output: false, pastRows))
            {
                yield return (shape, weights);
            }
        }

        var lmHead = LinearWeight.Bf16(_weights.LmHead);
        foreach (var shape in Bf16GemmTuner.DecodeShapes(_config.VocabSize, h, fp32Output: true, _linears.StreamRows(lmHead, h, _config.VocabSize)))
        {
            yield return (shape, [_weights.LmHead]);
        }
    }

}
