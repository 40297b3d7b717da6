using Brim.Backends.Cuda.Execution;
using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;
using Brim.Models;

namespace Brim.Backends.Cuda;

/// <summary>
/// How the backend sets up its linear-layer paths at construction: W8A8 for FP8 weights, the bf16 GEMM tuner with the
/// choices saved by earlier starts, and the decode products it tunes.
/// </summary>
public sealed partial class CudaBackend
{
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
