using Brim.Backends.Cuda.Tests.Harness;

namespace Brim.Backends.Cuda.Tests;

/// <summary>
/// The test executable. With no mode it is the xunit v3 runner (what `dotnet test` and the GPU host run); the modes
/// are harnesses for the GPU host, which has no .NET SDK:
///   bench-kernels                    kernel GB/s against the measured ceilings
///   bench-quant                      quant_gemv GB/s at Llama-3.1-8B shapes by split and build, bf16 gemv beside it
///   bench-fp8gemm                    prefill-sized FP8 products at Llama-3.1-8B shapes: bf16 vs dequantize + bf16 vs W8A8 (cuBLASLt), TFLOP/s
///   bench-gemm                       bf16 decode products at Llama-3.1-8B shapes, rows 4…512: cublasGemmEx vs the tuned choice
///                                    (cuBLASLt where faster), TFLOP/s, GB/s and % of the roofline
///   bench-decode [graphs|eager] [batch sizes...]   decode tokens/s at Llama-3.1-8B shape
///   bench-attention                  decode attention GB/s over batch 1…256 × context 256…8,192, bf16 and FP8 KV
///   bench-prefill-attention          prefill attention TFLOP/s, small-tile vs long-tile kernel: 8,192-row chunks at prior
///                                    context 0 / 8k / 24k and short chunks, bf16 and FP8 KV
///   hf-compare DIR...                logits and greedy tokens against transformers (scripts/gpu/hf_reference.py)
///   kv-drift DIR...                  log-prob drift of the FP8 KV cache and quantized weights against transformers
///   bench-overlap                    one layer of a ~500-row decode step (FP8 KV; FP8, then bf16 weights): attention and products in
///                                    turn against two half-batches crossed on two streams, cuBLASLt planned for all or fewer SMs
///   bench-stages [CONFIG_DIR]       a decode step's time by stage (norms, products, rope, attention, head) at batch × context
///                                    1 × 512 … 512 × 1,536 on the 8B shape, bf16 then FP8 weights + KV, beside each stage's floor
///   bench-sampling                   device sampling at the 8B vocabulary, radix vs bisection kernel, 1/64/256 rows, the usual parameter sets
///   bench-allreduce                  tensor parallelism's all-reduces per decode step (2, 4, 8 ranks; 8B and 70B shapes)
///   verify-cost                      speculative verify steps (k = 1…8; host-logits eager vs device-sampled graph) against plain decode at batch 1…64, break-even acceptance
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var log = Console.Out;
        switch (args.FirstOrDefault())
        {
            case "bench-kernels":
                return KernelBench.Run(log);
            case "bench-quant":
                return QuantKernelBench.Run(log);
            case "bench-fp8gemm":
                return Fp8GemmBench.Run(log);
            case "bench-gemm":
                return GemmTuneBench.Run(log);
            case "bench-decode":
                var graphs = args.Length < 2 || args[1] != "eager";
                var sizes = args.Skip(2).Select(int.Parse).ToArray();
                return DecodeBench.Run(log, sizes.Length > 0 ? sizes : [1, 4, 8, 16, 32, 64, 128, 256], graphs);
            case "bench-attention":
                return AttentionSweep.Run(log, [1, 8, 32, 64, 128, 256], [256, 1024, 2048, 4096, 8192]);
            case "bench-prefill-attention":
                return PrefillAttentionBench.Run(log);
            case "bench-overlap":
                return OverlapBench.Run(log);
            case "bench-stages":
                return StageBench.Run(log, args.Length > 1 ? args[1] : "bench/configs/llama-3.1-8b");
            case "bench-sampling":
                return SamplingBench.Run(log);
            case "bench-allreduce":
                return AllReduceBench.Run(log);
            case "verify-cost":
                return VerifyCost.Run(log, [1, 8, 32, 64], [1, 2, 4, 8]);
            case "kv-drift":
                return KvCacheDrift.Run(log, args.Skip(1).ToArray());
            case "hf-compare":
                return args.Skip(1).Select(d => HfCompare.Run(d, log)).Max();
            default:
                return Xunit.Runner.InProc.SystemConsole.ConsoleRunner.Run(args).GetAwaiter().GetResult();
        }
    }
}
