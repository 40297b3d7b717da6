using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launchers for fp8_gemm.cu: the per-token activation quantization before a W8A8 product on cuBLASLt and the epilogues
/// that apply the token and weight scales after it (<see cref="Execution.Fp8Gemm"/>).
/// </summary>
internal sealed class Fp8GemmKernels : IDisposable
{
    /// <summary>cuBLASLt's FP8 alignment (16-byte rows of E4M3), which also makes every bf16 row whole 16-byte chunks here.</summary>
    public const int WidthMultiple = 16;

    private const int Threads = 256;
    private readonly CudaModule _module;
    private readonly KernelFunction _quantize;
    private readonly KernelFunction _scaleRows;
    private readonly KernelFunction _scaleSilu;

    public Fp8GemmKernels(CudaDevice device, KernelCompiler compiler)
    {
        if (compiler.ComputeCapability < CudaBackend.MinFp8ComputeCapability)
        {
            throw new NotSupportedException($"W8A8 needs E4M3 conversion (sm_89+), this GPU is sm_{compiler.ComputeCapability}");
        }

        _module = new CudaModule(device, compiler.Compile("fp8_gemm.cu"), "fp8_gemm.cu");
        _quantize = _module.GetFunction("quantize_tokens_fp8");
        _scaleRows = _module.GetFunction("fp8_scale_rows");
        _scaleSilu = _module.GetFunction("fp8_scale_silu");
    }

    /// <summary>bf16 <paramref name="x"/> [rows, width] → E4M3 <paramref name="codes"/> [rows, width] and a float scale per row (amax / 448).</summary>
    public void QuantizeTokens(CudaStream stream, ulong x, ulong codes, ulong scales, int rows, int width)
    {
        Launch.Positive(rows, nameof(rows));
        RequireWidth(width, nameof(width));
        RequireAligned(x, codes);
        var a = default(KernelArguments);
        a.Add(x);
        a.Add(codes);
        a.Add(scales);
        a.Add(width);
        _quantize.Launch(stream, rows, Threads, ref a);
    }

    /// <summary>y [rows, width] (the raw product, bf16, in place) ← y · tokenScales[t] · weightScales[j].</summary>
    public void ScaleRows(CudaStream stream, ulong y, ulong tokenScales, ulong weightScales, int rows, int width)
    {
        Launch.Positive(rows, nameof(rows));
        RequireWidth(width, nameof(width));
        RequireAligned(y, y);
        var a = default(KernelArguments);
        a.Add(y);
        a.Add(tokenScales);
        a.Add(weightScales);
        a.Add(rows);
        a.Add(width);
        _scaleRows.Launch(stream, Launch.GridStrideBlocks((long)rows * width / 8, Threads), Threads, ref a);
    }

    /// <summary>
    /// output [rows, ff] = silu(g) · u, g and u the halves of the raw gate/up product [rows, 2·ff] each scaled by its
    /// token's scale and its weight row's (weightScales holds the fused weight's 2·ff).
    /// </summary>
    public void ScaleSilu(CudaStream stream, ulong gateUp, ulong tokenScales, ulong weightScales, ulong output, int rows, int ff)
    {
        Launch.Positive(rows, nameof(rows));
        if (ff <= 0 || ff % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ff), ff, "the fused epilogue reads 8 outputs a thread: ff must be a positive multiple of 8");
        }

        RequireAligned(gateUp, output);
        var a = default(KernelArguments);
        a.Add(gateUp);
        a.Add(tokenScales);
        a.Add(weightScales);
        a.Add(output);
        a.Add(rows);
        a.Add(ff);
        _scaleSilu.Launch(stream, Launch.GridStrideBlocks((long)rows * ff / 8, Threads), Threads, ref a);
    }

    public void Dispose() => _module.Dispose();

    /// <summary>The kernels move 16-byte chunks (uint4 loads, uint2/uint4 stores).</summary>
    private static void RequireAligned(ulong first, ulong second)
    {
        if (((first | second) & 15) != 0)
        {
            throw new ArgumentException($"fp8_gemm.cu needs 16-byte aligned rows, got 0x{first:x} and 0x{second:x}");
        }
    }

    private static void RequireWidth(int width, string name)
    {
        if (width <= 0 || width % WidthMultiple != 0)
        {
            throw new ArgumentOutOfRangeException(name, width, $"{name} must be a positive multiple of {WidthMultiple}");
        }
    }
}
