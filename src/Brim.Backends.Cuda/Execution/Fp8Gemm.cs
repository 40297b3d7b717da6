using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// FP8 products on cuBLASLt (W8A8) for prefill-sized steps of FP8 weights: the activations are quantized per token to
/// E4M3 (quantize_tokens_fp8), and cuBLASLt multiplies E4M3 by E4M3 on the FP8 tensor cores with a float scale per
/// weight row and per token (OUTER_VEC_32F scaling, cuBLAS 12.9+), writing bf16. Reads the weight once, at half the
/// bytes of bf16 and twice its tensor rate. Where cuBLASLt offers no algorithm for this (an older cuBLAS, a GPU without
/// FP8 tensor cores) <see cref="TryCreate"/> returns null and the caller dequantizes instead.
/// </summary>
internal sealed unsafe class Fp8Gemm : IDisposable
{
    private const long WorkspaceBytes = 32L << 20;
    private readonly CudaDevice _device;
    private readonly CudaStream _stream;
    private readonly QuantizeKernels _quantize;
    private readonly DeviceBuffer _workspace;
    private readonly Dictionary<(int Rows, int In, int Out), Plan> _plans = [];
    private readonly nint _handle;
    private readonly nint _desc;
    private readonly nint _preference;
    private DeviceBuffer _codes;
    private DeviceBuffer _scales;
    private int _rowCapacity;
    private readonly int _widthCapacity;

    private Fp8Gemm(CudaDevice device, CudaStream stream, QuantizeKernels quantize, int rows, int maxInFeatures)
    {
        _device = device;
        _stream = stream;
        _quantize = quantize;
        _widthCapacity = maxInFeatures;
        _workspace = new DeviceBuffer(device, WorkspaceBytes);
        CublasLt.Check(CublasLt.cublasLtCreate(out _handle), "cublasLtCreate");
        CublasLt.Check(CublasLt.cublasLtMatmulDescCreate(out _desc, Cublas.CUBLAS_COMPUTE_32F, Cublas.CUDA_R_32F), "cublasLtMatmulDescCreate");
        int transposed = Cublas.CUBLAS_OP_T, plain = Cublas.CUBLAS_OP_N, outer = CublasLt.MatrixScaleOuterVec32F;
        SetAttribute(CublasLt.MatmulDescTransA, &transposed, sizeof(int));
        SetAttribute(CublasLt.MatmulDescTransB, &plain, sizeof(int));
        SetAttribute(CublasLt.MatmulDescAScaleMode, &outer, sizeof(int));
        SetAttribute(CublasLt.MatmulDescBScaleMode, &outer, sizeof(int));
        CublasLt.Check(CublasLt.cublasLtMatmulPreferenceCreate(out _preference), "cublasLtMatmulPreferenceCreate");
        var workspace = (ulong)WorkspaceBytes;
        CublasLt.Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(_preference, CublasLt.PreferenceMaxWorkspaceBytes, &workspace, sizeof(ulong)), "cublasLtMatmulPreferenceSetAttribute");
        _rowCapacity = rows;
        _codes = new DeviceBuffer(device, (long)rows * maxInFeatures);
        _scales = new DeviceBuffer(device, (long)rows * sizeof(float));
    }

    /// <summary>
    /// The FP8 path for a device of <paramref name="computeCapability"/>, with activation buffers for
    /// <paramref name="rows"/> rows (grown for larger eager steps; captured decode steps must fit), or null where
    /// cuBLASLt has no FP8 algorithm with per-row scales (<paramref name="why"/> says which).
    /// </summary>
    public static Fp8Gemm? TryCreate(CudaDevice device, CudaStream stream, QuantizeKernels quantize, int computeCapability, int rows, int maxInFeatures, out string why)
    {
        if (computeCapability < CudaBackend.MinFp8ComputeCapability)
        {
            why = $"sm_{computeCapability} has no FP8 tensor cores";
            return null;
        }

        if (!NativeLibraries.TryLoad(NativeLibraries.CublasLt, out _, out why))
        {
            return null;
        }

        Fp8Gemm? gemm = null;
        try
        {
            gemm = new Fp8Gemm(device, stream, quantize, rows, maxInFeatures);
            if (gemm.PlanFor(256, 256, 256) is null)
            {
                why = "cuBLASLt offers no FP8 algorithm with per-row scales (OUTER_VEC_32F needs cuBLAS 12.9+ on sm_90)";
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

    /// <summary>Whether a product of this shape runs here (cuBLASLt's FP8 constraints: dimensions in multiples of 16).</summary>
    public bool Supports(int rows, int inFeatures, int outFeatures)
        => inFeatures % 16 == 0 && outFeatures % 16 == 0 && inFeatures <= _widthCapacity && PlanFor(rows, inFeatures, outFeatures) is not null;

    /// <summary>y[rows, outFeatures] (bf16) = x[rows, inFeatures] · wᵀ with <paramref name="w"/> an FP8 weight.</summary>
    public void Linear(LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outFeatures)
    {
        if (w.Format != WeightFormat.Fp8)
        {
            throw new ArgumentException($"the FP8 product takes fp8 weights, not {w.Format}");
        }

        var plan = PlanFor(rows, inFeatures, outFeatures) ?? throw new InvalidOperationException($"no FP8 algorithm for rows {rows}, in {inFeatures}, out {outFeatures}");
        EnsureRows(rows);
        _quantize.QuantizeTokensFp8(_stream, x, _codes.Pointer, _scales.Pointer, rows, inFeatures);
        var weightScales = w.Scales;
        var tokenScales = _scales.Pointer;
        SetAttribute(CublasLt.MatmulDescAScalePointer, &weightScales, sizeof(ulong));
        SetAttribute(CublasLt.MatmulDescBScalePointer, &tokenScales, sizeof(ulong));
        float alpha = 1f, beta = 0f;
        fixed (ulong* algo = plan.AlgoWords)
        {
            CublasLt.Check(
                CublasLt.cublasLtMatmul(
                    _handle, _desc, &alpha, w.Codes, plan.A, _codes.Pointer, plan.B, &beta, y, plan.D, y, plan.D,
                    algo, _workspace.Pointer, (nuint)WorkspaceBytes, _stream.Handle),
                $"cublasLtMatmul(fp8, m={outFeatures}, n={rows}, k={inFeatures})");
        }
    }

    public void Dispose()
    {
        _device.MakeCurrent();
        foreach (var plan in _plans.Values)
        {
            plan.Dispose();
        }

        _plans.Clear();
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
    }

    /// <summary>Activation buffers for <paramref name="rows"/> rows; only eager (uncaptured) steps ever exceed the initial size.</summary>
    private void EnsureRows(int rows)
    {
        if (rows <= _rowCapacity)
        {
            return;
        }

        _stream.Synchronize();
        _codes.Dispose();
        _scales.Dispose();
        _rowCapacity = Math.Max(rows, _rowCapacity * 2);
        _codes = new DeviceBuffer(_device, (long)_rowCapacity * _widthCapacity);
        _scales = new DeviceBuffer(_device, (long)_rowCapacity * sizeof(float));
    }

    private Plan? PlanFor(int rows, int inFeatures, int outFeatures)
    {
        var key = (rows, inFeatures, outFeatures);
        if (_plans.TryGetValue(key, out var cached))
        {
            return cached.Supported ? cached : null;
        }

        var plan = new Plan(rows, inFeatures, outFeatures);
        CublasLt.HeuristicResult result;
        var status = CublasLt.cublasLtMatmulAlgoGetHeuristic(_handle, _desc, plan.A, plan.B, plan.D, plan.D, _preference, 1, &result, out var returned);
        plan.Supported = status == 0 && returned > 0 && result.WorkspaceSize <= (nuint)WorkspaceBytes;
        if (plan.Supported)
        {
            for (var i = 0; i < 8; i++)
            {
                plan.AlgoWords[i] = result.Algo[i];
            }
        }

        _plans[key] = plan;
        return plan.Supported ? plan : null;
    }

    private void SetAttribute(int attribute, void* value, int bytes)
        => CublasLt.Check(CublasLt.cublasLtMatmulDescSetAttribute(_desc, attribute, value, (nuint)bytes), $"cublasLtMatmulDescSetAttribute({attribute})");

    /// <summary>The layouts and chosen algorithm of one product shape: A = weight [in, out] (transposed), B = codes [in, rows], D = y [out, rows], column-major.</summary>
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

        public bool Supported { get; set; }

        public ulong[] AlgoWords { get; } = new ulong[8];

        public void Dispose()
        {
            CublasLt.cublasLtMatrixLayoutDestroy(A);
            CublasLt.cublasLtMatrixLayoutDestroy(B);
            CublasLt.cublasLtMatrixLayoutDestroy(D);
        }
    }
}
