using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Tests.Support;
using Brim.Core.Execution;
using Brim.Models;
using Brim.Tests;

namespace Brim.Backends.Cuda.Tests;

/// <summary>
/// Whole models with quantized projections on the device against the same weights dequantized and run in bf16: a
/// 12-token prefill (quant_mma, or with its row limit at 0 cuBLAS on the weight dequantized to bf16; FP8 also W8A8 on
/// cuBLASLt, against the dequantized path) and a decode step
/// (quant_gemv), for checkpoints written packed in each format and for quantization on load.
/// </summary>
public class QuantizedModelTests
{
    [Theory]
    [InlineData(PackedFormat.Awq, 32)]
    [InlineData(PackedFormat.Gptq4, 32)]
    [InlineData(PackedFormat.Gptq8, 16)]
    [InlineData(PackedFormat.Fp8PerTensor, 16)]
    [InlineData(PackedFormat.CompressedTensorsPerChannel, 16)]
    public void Forward_QuantizedCheckpoint_MatchesItsDequantizedWeightsInBf16(PackedFormat format, int groupSize)
    {
        Gpu.Require();
        using var checkpoint = QuantizedCheckpoints.WriteAndLoad(format, Gpu.NewSeed(), groupSize);
        var model = checkpoint.Model;
        var (prefill, decode) = Logits(new CudaBackend(model));
        var (dequantizedPrefill, _) = Logits(new CudaBackend(model), mmaMaxRows: 0, fp8Gemm: false);
        var (wantPrefill, wantDecode) = Logits(new CudaBackend(model.Config, model.Weights));
        Compare.Close(prefill, wantPrefill, 2e-2, $"{format} prefill");
        Compare.Close(dequantizedPrefill, wantPrefill, 2e-2, $"{format} prefill, dequantized for cuBLAS");
        Compare.Close(decode, wantDecode, 2e-2, $"{format} decode");
    }

    [Theory]
    [InlineData(WeightQuantization.Int4, false)]
    [InlineData(WeightQuantization.Int8, false)]
    [InlineData(WeightQuantization.Fp8, false)]
    [InlineData(WeightQuantization.Int4, true)]
    public void Forward_QuantizedOnLoad_MatchesTheCpusRoundTripInBf16(WeightQuantization kind, bool qwen2)
    {
        Gpu.Require();
        if (kind == WeightQuantization.Fp8)
        {
            Assert.SkipUnless(Gpu.SupportsFp8, "fp8 quantization needs sm_89+");
        }

        var config = qwen2 ? RandomModels.Qwen2Like() : RandomModels.Llama3Like();
        var seed = Gpu.NewSeed();
        using var floats = RandomModels.Create(config, new Random(seed));
        using var rounded = RandomModels.Create(config, new Random(seed));
        foreach (var tensor in WeightManifest.For(config).Where(t => t.Shape.Length == 2 && t.Name.Contains(".layers.", StringComparison.Ordinal)))
        {
            var values = new float[tensor.ElementCount];
            floats.ReadAsFloat32(tensor.Name, values);
            WeightQuantizer.RoundTrip(kind, values, (int)tensor.Shape[0], (int)tensor.Shape[1]);
            rounded.Add(tensor.Name, TensorDType.F32, tensor.Shape, values);
        }

        var quantization = new ModelQuantization { Kind = kind, StoredBytes = 0, Unquantized = floats, Description = $"{kind} (test)" };
        var (prefill, decode) = Logits(new CudaBackend(config, floats, quantization: quantization));
        var (wantPrefill, wantDecode) = Logits(new CudaBackend(config, rounded));
        Compare.Close(prefill, wantPrefill, 2e-2, $"{kind} on load, prefill (seed {seed})");
        Compare.Close(decode, wantDecode, 2e-2, $"{kind} on load, decode (seed {seed})");
    }

    /// <summary>
    /// FP8 checkpoints' prefill with W8A8 on cuBLASLt (activations rounded to E4M3 per token) against the same prefill on
    /// the dequantized weights in bf16, both past quant_mma.cu's rows (its limit at 0, so 12 rows are prefill-sized). E4M3
    /// keeps 3 mantissa bits (≤ 6 % per activation, ~2.5 % RMS), averaged over each sum and diluted by the residual
    /// stream, across two layers: 1e-1 of the logits' norm, while a wrong layout or scale errs by order 1. Also that the
    /// W8A8 path really ran, and that with it off nothing did.
    /// </summary>
    [Theory]
    [InlineData(PackedFormat.Fp8PerTensor)]
    [InlineData(PackedFormat.CompressedTensorsPerChannel)]
    public void Forward_Fp8CheckpointW8A8_MatchesTheDequantizedPath(PackedFormat format)
    {
        Gpu.Require();
        Assert.SkipUnless(Gpu.SupportsFp8, "W8A8 needs FP8 tensor cores (sm_89+)");
        var seed = Gpu.NewSeed();
        using var checkpoint = QuantizedCheckpoints.WriteAndLoad(format, seed);
        var model = checkpoint.Model;
        using var w8a8 = new CudaBackend(model);
        using var dequantized = new CudaBackend(model);
        Assert.True(w8a8.Fp8GemmNote?.Contains("W8A8 on cuBLASLt", StringComparison.Ordinal), w8a8.Fp8GemmNote);
        var (w8a8Prefill, _) = Logits(w8a8, mmaMaxRows: 0, dispose: false);
        var (dequantizedPrefill, _) = Logits(dequantized, mmaMaxRows: 0, fp8Gemm: false, dispose: false);
        Assert.True(w8a8.Fp8GemmProducts > 0, $"the W8A8 path did not run: {w8a8.Fp8GemmNote}");
        Assert.Equal(0, dequantized.Fp8GemmProducts);
        Compare.Close(w8a8Prefill, dequantizedPrefill, 1e-1, $"{format} prefill, W8A8 against dequantized (seed {seed})");
    }

    /// <summary>
    /// Decode steps of 40 sequences (past quant_mma.cu's 32 rows: W8A8, padded to the 64-row bucket) captured as CUDA
    /// graphs and replayed give the logits the same steps give eagerly: the W8A8 path is capturable (fixed buffers and
    /// workspace, host-side plans). Rows are quantized independently, so the bucket's padding rows change nothing; the
    /// two runs may still pick different cuBLASLt algorithms for 64 and 40 rows (summation order): 1e-2.
    /// </summary>
    [Fact]
    public void Forward_Fp8DecodeStepsPastQuantMmaRows_ReplayW8A8InGraphs()
    {
        Gpu.Require();
        Assert.SkipUnless(Gpu.SupportsFp8, "W8A8 needs FP8 tensor cores (sm_89+)");
        var config = RandomModels.Llama3Like();
        var seed = Gpu.NewSeed();
        using var weights = RandomModels.Create(config, new Random(seed));
        var quantization = new ModelQuantization { Kind = WeightQuantization.Fp8, StoredBytes = 0, Unquantized = weights, Description = "fp8 (test)" };
        using var graphs = new CudaBackend(config, weights, quantization: quantization);
        using var eager = new CudaBackend(config, weights, new CudaBackendOptions { UseCudaGraphs = false }, quantization);
        const int sequences = 40, steps = 4;
        var want = BackendSteps.Decode(eager, sequences, steps);
        var got = BackendSteps.Decode(graphs, sequences, steps);
        Assert.True(graphs.CapturedGraphs > 0, "the decode steps were not captured");
        Assert.True(graphs.Fp8GemmProducts > 0 && eager.Fp8GemmProducts > 0, $"the W8A8 path did not run: {graphs.Fp8GemmNote}");
        for (var step = 0; step < steps; step++)
        {
            Compare.Close(got[step], want[step], 1e-2, $"decode step {step} of {sequences} rows, graph against eager (seed {seed})");
        }
    }

    /// <summary>
    /// Decode steps of 1, 12 and 27 sequences (one, two and four n8 token tiles) with int4, FP8 and int8 weights quantized on
    /// load on quant_gemv_mma.cu (tensor cores) against the same steps on quant_gemv.cu
    /// (1 row: the same fp32 sums in another order) and quant_mma.cu (12 and 27 rows: weights rounded to bf16 first). The
    /// activations between the projections are bf16, so a one-ulp difference anywhere propagates: 1e-2 of the logits'
    /// norm, where a slot of A or B taken from the wrong input errs by order 1.
    /// </summary>
    [Theory]
    [InlineData(WeightQuantization.Int4)]
    [InlineData(WeightQuantization.Fp8)]
    [InlineData(WeightQuantization.Int8)]
    public void Decode_TensorCoreGemv_MatchesTheCudaCoreKernels(WeightQuantization kind)
    {
        Gpu.Require();
        if (kind == WeightQuantization.Fp8)
        {
            Assert.SkipUnless(Gpu.SupportsFp8, "fp8 quantization needs sm_89+");
        }

        var config = RandomModels.Llama3Like(); // every width a multiple of 128, every output of 16: all on tensor cores
        var seed = Gpu.NewSeed();
        using var weights = RandomModels.Create(config, new Random(seed));
        var quantization = new ModelQuantization { Kind = kind, StoredBytes = 0, Unquantized = weights, Description = $"{kind} (test)" };
        foreach (var sequences in new[] { 1, 12, 27 })
        {
            using var mma = new CudaBackend(config, weights, new CudaBackendOptions { UseQuantTensorCoreGemv = true }, quantization);
            using var cores = new CudaBackend(config, weights, new CudaBackendOptions { UseQuantTensorCoreGemv = false }, quantization);
            var got = BackendSteps.Decode(mma, sequences, steps: 3);
            var want = BackendSteps.Decode(cores, sequences, steps: 3);
            for (var step = 0; step < want.Length; step++)
            {
                Compare.Close(got[step], want[step], 1e-2, $"{kind} decode step {step} of {sequences} rows, tensor cores against CUDA cores (seed {seed})");
            }
        }
    }

    private static (float[] Prefill, float[] Decode) Logits(CudaBackend backend, int? mmaMaxRows = null, bool fp8Gemm = true, bool dispose = true)
    {
        using (dispose ? backend : null)
        {
            if (mmaMaxRows is { } limit)
            {
                backend.QuantMmaMaxRows = limit;
            }

            backend.UseFp8Gemm = fp8Gemm;

            backend.AllocateKvCache(8, 16);
            var vocab = backend.VocabSize;
            var prompt = Enumerable.Range(0, 12).Select(i => (i * 7 % (vocab - 3)) + 1).ToArray();
            var output = new ForwardOutput(vocab);
            backend.Forward(new ForwardBatch(prompt, [new SequenceSlice(0, prompt.Length, 0, new[] { 2 }, true)], 16), output);
            var prefill = output.LogitRow(0).ToArray();
            backend.Forward(new ForwardBatch([5], [new SequenceSlice(0, 1, prompt.Length, new[] { 2 }, true)], 16), output);
            return (prefill, output.LogitRow(0).ToArray());
        }
    }
}
