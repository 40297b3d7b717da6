using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// W8A8 products of FP8 weights on cuBLASLt for steps past quant_mma.cu's rows (prefill-sized): the activations are
/// quantized per token to E4M3 (amax / 448), cuBLASLt multiplies E4M3 by E4M3 on the FP8 tensor cores with fp32
/// accumulation and no scales, writing bf16, and an epilogue applies the token and weight-row scales, which factor out
/// of the sum (fp8_gemm.cu). cuBLASLt's own per-row/per-token scale modes are left alone: on the H100 with cuBLAS 13
/// they offered no algorithm at all, whereas an unscaled E4M3 product in the "TN" layout (A = the weight, transposed;
/// B = the activations) is the case every sm_89/sm_90 cuBLASLt documents. Where cuBLASLt is missing or has no
/// algorithm for a shape, <see cref="CanRun"/> says no and the caller dequantizes the weight for bf16 cuBLAS instead.
/// The raw product is written as bf16, not fp32: bf16 has fp32's range (the unscaled sum is at most 448²·k ≈ 3e9), its
/// rounding (≤ 2⁻⁸ relative) is far below the activations' E4M3 rounding (≤ 2⁻⁴), and it halves the epilogue's traffic,
/// which at gate/up's 28,672 columns is most of what the epilogue costs.
/// The activation buffers hold <see cref="RowCapacity"/> rows, grown only by <see cref="EnsureRows"/> (which the
/// backend calls where it grows its step buffers, outside any capture): everything here is then capturable.
/// </summary>
internal sealed unsafe class Fp8Gemm : IDisposable
{
    /// <summary>cuBLAS's recommended workspace on Hopper (split-K and stream-K algorithms use it).</summary>
    private const long WorkspaceBytes = 32L << 20;

    /// <summary>Plans kept per (rows, in, out, alignment); a long-running server sees many row counts, so the cache is bounded.</summary>
    private const int MaxPlans = 1024;

    private readonly CudaDevice _device;
    private readonly CudaStream _stream;
    private readonly Fp8GemmKernels _kernels;
    private readonly DeviceBuffer _workspace;
    private readonly Dictionary<(int Rows, int In, int Out, int Alignment), Plan?> _plans = [];
    private readonly Action<string> _warn;
    private readonly int _widthCapacity;
    private readonly nint _handle;
    private readonly nint _desc;
    private readonly nint _preference;
    private DeviceBuffer _codes;
    private DeviceBuffer _scales;
    private bool _warned;

    private Fp8Gemm(CudaDevice device, CudaStream stream, KernelCompiler compiler, int rows, int maxInFeatures, Action<string> warn)
    {
        _device = device;
        _stream = stream;
        _warn = warn;
        _widthCapacity = maxInFeatures;
        device.MakeCurrent();
        _kernels = new Fp8GemmKernels(device, compiler);
        _workspace = new DeviceBuffer(device, WorkspaceBytes);
        CublasLt.Check(CublasLt.cublasLtCreate(out _handle), "cublasLtCreate");
        _desc = CublasLt.CreateWeightTimesActivationsDesc();
        _preference = CublasLt.CreateWorkspacePreference(WorkspaceBytes);
        RowCapacity = rows;
        _codes = new DeviceBuffer(device, (long)rows * maxInFeatures);
        _scales = new DeviceBuffer(device, (long)rows * sizeof(float));
    }

    /// <summary>Token rows the activation buffers hold.</summary>
    public int RowCapacity { get; private set; }

    /// <summary>
    /// cuBLASLt's FP8 fast accumulation (partial sums kept in the tensor cores' reduced precision rather than promoted
    /// to fp32 periodically). Off, its default and the engine's: the harness times both so the choice can be measured.
    /// Changing it drops the plans, whose algorithms were chosen for the other mode.
    /// </summary>
    public bool FastAccumulation
    {
        get;
        set
        {
            if (value == field)
            {
                return;
            }

            sbyte flag = value ? (sbyte)1 : (sbyte)0;
            CublasLt.Check(CublasLt.cublasLtMatmulDescSetAttribute(_desc, CublasLt.MatmulDescFastAccum, &flag, sizeof(sbyte)), "cublasLtMatmulDescSetAttribute(FAST_ACCUM)");
            ClearPlans();
            field = value;
        }
    }

    /// <summary>
    /// SMs the products plan for (0, the default: all of them). Fewer leave SMs to work on another stream, which the
    /// overlap harness (`bench-overlap`) measures. Changing it drops the plans, whose algorithms were chosen for the other count.
    /// </summary>
    public int SmCountTarget
    {
        get;
        set
        {
            if (value == field)
            {
                return;
            }

            ArgumentOutOfRangeException.ThrowIfNegative(value);
            var count = value;
            CublasLt.Check(CublasLt.cublasLtMatmulDescSetAttribute(_desc, CublasLt.MatmulDescSmCountTarget, &count, sizeof(int)), "cublasLtMatmulDescSetAttribute(SM_COUNT_TARGET)");
            ClearPlans();
            field = value;
        }
    }

    /// <summary>Products run here so far (tests and the harness check that the path was taken, not silently left).</summary>
    public long Products { get; private set; }

    /// <summary>Why a product last fell back to the dequantized path, or null (for the startup note and the tests).</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>
    /// The W8A8 path on <paramref name="device"/> with activation buffers for <paramref name="rows"/> token rows of at
    /// most <paramref name="maxInFeatures"/> inputs, or null with <paramref name="why"/>: no FP8 conversion (below sm_89),
    /// no libcublasLt, or no cuBLASLt algorithm for an E4M3 product. <paramref name="warn"/> hears, once, of a shape
    /// that later falls back.
    /// </summary>
    public static Fp8Gemm? TryCreate(CudaDevice device, CudaStream stream, KernelCompiler compiler, int rows, int maxInFeatures, Action<string> warn, out string why)
    {
        if (compiler.ComputeCapability < CudaBackend.MinFp8ComputeCapability)
        {
            why = $"sm_{compiler.ComputeCapability} has no FP8 tensor cores";
            return null;
        }

        if (maxInFeatures % Fp8GemmKernels.WidthMultiple != 0 || rows <= 0)
        {
            why = $"widths must be multiples of {Fp8GemmKernels.WidthMultiple} (widest input {maxInFeatures})";
            return null;
        }

        if (!NativeLibraries.TryLoad(NativeLibraries.CublasLt, out _, out var missing))
        {
            why = $"no cuBLASLt: {missing}";
            return null;
        }

        Fp8Gemm? gemm = null;
        try
        {
            gemm = new Fp8Gemm(device, stream, compiler, rows, maxInFeatures, warn);
            const int probe = 256; // a shape every FP8 kernel takes: if this has no algorithm, none will
            if (gemm.PlanFor(probe, probe, probe, 256) is null)
            {
                why = $"cuBLASLt {CublasLt.cublasLtGetVersion()} offers no algorithm for an E4M3 x E4M3 product (TN, fp32 compute, bf16 output)";
                gemm.Dispose();
                return null;
            }

            why = string.Empty;
            return gemm;
        }
        catch (Exception e) when (e is CudaException or EntryPointNotFoundException or DllNotFoundException)
        {
            gemm?.Dispose();
            why = e.Message;
            return null;
        }
    }

    /// <summary>
    /// Whether y[rows, outFeatures] = x · wᵀ runs here: an FP8 weight, widths in multiples of 16 (cuBLASLt's FP8
    /// alignment), rows within the buffers, 16-byte aligned operands and an algorithm for the shape. A shape cuBLASLt
    /// refuses is reported once through the warning hook; the caller then takes the dequantized path.
    /// </summary>
    public bool CanRun(LinearWeight w, ulong y, int rows, int inFeatures, int outFeatures)
    {
        if (w.Format != WeightFormat.Fp8 || rows <= 0 || rows > RowCapacity || inFeatures > _widthCapacity
            || inFeatures % Fp8GemmKernels.WidthMultiple != 0 || outFeatures % Fp8GemmKernels.WidthMultiple != 0)
        {
            return false;
        }

        var alignment = Alignment(w.Codes, y);
        if (alignment < 16)
        {
            return Refuse($"operands not 16-byte aligned (weight 0x{w.Codes:x}, output 0x{y:x})");
        }

        return PlanFor(rows, inFeatures, outFeatures, alignment) is not null
            || Refuse($"cuBLASLt has no E4M3 algorithm for rows {rows}, in {inFeatures}, out {outFeatures}");
    }

    /// <summary>
    /// y[rows, outFeatures] (bf16) = x[rows, inFeatures] (bf16) · wᵀ, W8A8, for a shape that passed <see cref="CanRun"/>.
    /// False, with nothing written to y, where cuBLASLt still refuses the product at launch (the shape is then refused
    /// from now on and the caller takes the dequantized path): the engine never fails because of this path.
    /// </summary>
    public bool TryLinear(LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outFeatures)
    {
        QuantizeActivations(x, rows, inFeatures);
        if (!MultiplyRaw(w, y, rows, inFeatures, outFeatures))
        {
            return false;
        }

        _kernels.ScaleRows(_stream, y, _scales.Pointer, w.Scales, rows, outFeatures);
        return true;
    }

    /// <summary>
    /// output[rows, ff] = silu(x · gateᵀ) · (x · upᵀ) with <paramref name="gateUp"/> the fused [2·ff, in] FP8 weight:
    /// the raw product lands in <paramref name="scratch"/> [rows, 2·ff], then one pass scales it and applies SwiGLU. False
    /// as <see cref="TryLinear"/>.
    /// </summary>
    public bool TryGateUpSilu(LinearWeight gateUp, ulong x, ulong scratch, ulong output, int rows, int inFeatures, int ff)
    {
        QuantizeActivations(x, rows, inFeatures);
        if (!MultiplyRaw(gateUp, scratch, rows, inFeatures, 2 * ff))
        {
            return false;
        }

        _kernels.ScaleSilu(_stream, scratch, _scales.Pointer, gateUp.Scales, output, rows, ff);
        return true;
    }

    /// <summary>The activations' E4M3 codes and per-token scales into this object's buffers (the first third of <see cref="Linear"/>; the harness times the parts).</summary>
    internal void QuantizeActivations(ulong x, int rows, int inFeatures)
    {
        if (rows > RowCapacity || inFeatures > _widthCapacity)
        {
            throw new InvalidOperationException($"{rows} rows of {inFeatures} inputs exceed the W8A8 buffers ({RowCapacity} of {_widthCapacity})");
        }

        _kernels.QuantizeTokens(_stream, x, _codes.Pointer, _scales.Pointer, rows, inFeatures);
    }

    /// <summary>
    /// y = codes · wqᵀ, unscaled (bf16): the cuBLASLt product alone, of the codes <see cref="QuantizeActivations"/> wrote.
    /// False where cuBLASLt refuses it (a status, nothing launched): the shape is refused from then on.
    /// </summary>
    internal bool MultiplyRaw(LinearWeight w, ulong y, int rows, int inFeatures, int outFeatures)
    {
        var alignment = Alignment(w.Codes, y);
        var plan = PlanFor(rows, inFeatures, outFeatures, alignment)
            ?? throw new InvalidOperationException($"no cuBLASLt FP8 algorithm for rows {rows}, in {inFeatures}, out {outFeatures} (callers check CanRun)");
        float alpha = 1f, beta = 0f;
        int status;
        fixed (ulong* algo = plan.Algo)
        {
            // Column-major, as cuBLAS sees row-major data: A = the weight [in, out] read transposed (M = out), B = the
            // codes [in, rows] (N = rows), D = y [out, rows]; C is D, unread with beta 0.
            status = CublasLt.cublasLtMatmul(
                _handle, _desc, &alpha, w.Codes, plan.A, _codes.Pointer, plan.B, &beta, y, plan.D, y, plan.D,
                algo, _workspace.Pointer, (nuint)WorkspaceBytes, _stream.Handle);
        }

        if (status != 0)
        {
            plan.Dispose();
            _plans[(rows, inFeatures, outFeatures, alignment)] = null;
            return Refuse($"cublasLtMatmul(e4m3, m={outFeatures}, n={rows}, k={inFeatures}) failed with cublasStatus {status}");
        }

        Products++;
        return true;
    }

    /// <summary>
    /// Grows the activation buffers to <paramref name="rows"/> rows. Waits for the stream first (kernels in flight may
    /// read the old buffers); the caller drops captured graphs, which hold the old addresses.
    /// </summary>
    public void EnsureRows(int rows)
    {
        if (rows <= RowCapacity)
        {
            return;
        }

        _stream.Synchronize();
        _codes.Dispose();
        _scales.Dispose();
        RowCapacity = rows;
        _codes = new DeviceBuffer(_device, (long)rows * _widthCapacity);
        _scales = new DeviceBuffer(_device, (long)rows * sizeof(float));
    }

    public void Dispose()
    {
        _device.MakeCurrent();
        ClearPlans();
        if (_preference != 0)
        {
            CublasLt.cublasLtMatmulPreferenceDestroy(_preference);
        }

        if (_desc != 0)
        {
            CublasLt.cublasLtMatmulDescDestroy(_desc);
        }

        if (_handle != 0)
        {
            CublasLt.cublasLtDestroy(_handle);
        }

        _codes.Dispose();
        _scales.Dispose();
        _workspace.Dispose();
        _kernels.Dispose();
    }

    /// <summary>The largest power of two up to 256 dividing the weight's and the output's address (the activation codes are allocations: 256).</summary>
    private static int Alignment(ulong weight, ulong output)
    {
        var bits = weight | output | 256;
        return (int)(bits & (~bits + 1));
    }

    private bool Refuse(string reason)
    {
        FallbackReason = reason;
        if (!_warned)
        {
            _warned = true;
            _warn($"fp8 W8A8 product falls back to dequantize + bf16 cuBLAS: {reason} (reported once)");
        }

        return false;
    }

    private Plan? PlanFor(int rows, int inFeatures, int outFeatures, int alignment)
    {
        var key = (rows, inFeatures, outFeatures, alignment);
        if (_plans.TryGetValue(key, out var cached))
        {
            return cached;
        }

        if (_plans.Count >= MaxPlans)
        {
            ClearPlans(); // host-side descriptors only: products already enqueued (or captured) do not read them again
        }

        var plan = new Plan(rows, inFeatures, outFeatures);
        var bytes = (uint)alignment;
        foreach (var attribute in new[] { CublasLt.PreferenceMinAlignmentA, CublasLt.PreferenceMinAlignmentB, CublasLt.PreferenceMinAlignmentC, CublasLt.PreferenceMinAlignmentD })
        {
            CublasLt.Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(_preference, attribute, &bytes, sizeof(uint)), "cublasLtMatmulPreferenceSetAttribute(alignment)");
        }

        CublasLt.HeuristicResult result;
        var status = CublasLt.cublasLtMatmulAlgoGetHeuristic(_handle, _desc, plan.A, plan.B, plan.D, plan.D, _preference, 1, &result, out var returned);
        if (status != 0 || returned == 0 || result.State != 0 || result.WorkspaceSize > (nuint)WorkspaceBytes)
        {
            plan.Dispose();
            _plans[key] = null;
            return null;
        }

        for (var i = 0; i < 8; i++)
        {
            plan.Algo[i] = result.Algo[i];
        }

        _plans[key] = plan;
        return plan;
    }

    private void ClearPlans()
    {
        foreach (var plan in _plans.Values)
        {
            plan?.Dispose();
        }

        _plans.Clear();
    }

    /// <summary>The layouts and chosen algorithm of one shape: A = weight [in, out] (read transposed), B = codes [in, rows], D = y [out, rows], column-major.</summary>
    private sealed class Plan : IDisposable
    {
        public Plan(int rows, int inFeatures, int outFeatures)
        {
            CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(out var a, CublasLt.CUDA_R_8F_E4M3, (ulong)inFeatures, (ulong)outFeatures, inFeatures), "cublasLtMatrixLayoutCreate(A)");
            CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(out var b, CublasLt.CUDA_R_8F_E4M3, (ulong)inFeatures, (ulong)rows, inFeatures), "cublasLtMatrixLayoutCreate(B)");
            CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(out var d, Cublas.CUDA_R_16BF, (ulong)outFeatures, (ulong)rows, outFeatures), "cublasLtMatrixLayoutCreate(D)");
            A = a;
            B = b;
            D = d;
        }

        public nint A { get; }

        public nint B { get; }

        public nint D { get; }

        public ulong[] Algo { get; } = new ulong[8];

        public void Dispose()
        {
            CublasLt.cublasLtMatrixLayoutDestroy(A);
            CublasLt.cublasLtMatrixLayoutDestroy(B);
            CublasLt.cublasLtMatrixLayoutDestroy(D);
        }
    }
}
