using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// The bf16 product of <see cref="CublasHandle.Linear"/> on cuBLASLt, where the algorithm is the caller's to choose: the
/// heuristic's candidates for a shape (up to <see cref="MaxCandidates"/>, each with its workspace within the fixed
/// buffer here) and a product with any of them. Operands as cuBLAS sees row-major data, column-major: A = the weight
/// [in, out] read transposed (M = out), B = the activations [in, rows] (N = rows), D = y [out, rows] bf16 or fp32; C is
/// D, unread with beta 0. The workspace is one fixed buffer and the layouts live as long as this object, so a product
/// can be captured into a CUDA graph. Split-K candidates of a bf16 output add their partial sums in fp32 only, so every
/// candidate accumulates as GemmEx does. Every operand is assumed 256-byte aligned (what the heuristic assumes by default;
/// set explicitly here): callers check <see cref="Aligned"/>.
/// </summary>
internal sealed unsafe class Bf16LtGemm : IDisposable
{
    /// <summary>cuBLAS's recommended workspace on Hopper (split-K and stream-K algorithms use it).</summary>
    public const long WorkspaceBytes = 32L << 20;

    /// <summary>Candidates asked of the heuristic per shape: past a dozen or so they are variations that rarely win.</summary>
    public const int MaxCandidates = 16;

    /// <summary>Operand alignment the algorithms are chosen for: every device allocation and every weight in the arena has it.</summary>
    public const int Alignment = 256;

    private readonly CudaDevice _device;
    private readonly CudaStream _stream;
    private readonly DeviceBuffer _workspace;
    private readonly Dictionary<GemmShape, Layouts> _layouts = [];
    private nint _handle;
    private nint _desc;
    private nint _preference;

    private Bf16LtGemm(CudaDevice device, CudaStream stream)
    {
        _device = device;
        _stream = stream;
        device.MakeCurrent();
        _workspace = new DeviceBuffer(device, WorkspaceBytes);
        try
        {
            CublasLt.Check(CublasLt.cublasLtCreate(out _handle), "cublasLtCreate");
            _desc = CublasLt.CreateWeightTimesActivationsDesc();
            _preference = CublasLt.CreateWorkspacePreference(WorkspaceBytes);
            var alignment = (uint)Alignment;
            foreach (var attribute in new[] { CublasLt.PreferenceMinAlignmentA, CublasLt.PreferenceMinAlignmentB, CublasLt.PreferenceMinAlignmentC, CublasLt.PreferenceMinAlignmentD })
            {
                CublasLt.Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(_preference, attribute, &alignment, sizeof(uint)), "cublasLtMatmulPreferenceSetAttribute(alignment)");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The bf16 path on <paramref name="device"/>'s <paramref name="stream"/>, or null with <paramref name="why"/> (no libcublasLt, or it failed to start).</summary>
    public static Bf16LtGemm? TryCreate(CudaDevice device, CudaStream stream, out string why)
    {
        if (!NativeLibraries.TryLoad(NativeLibraries.CublasLt, out _, out var missing))
        {
            why = $"no cuBLASLt: {missing}";
            return null;
        }

        try
        {
            why = string.Empty;
            return new Bf16LtGemm(device, stream);
        }
        catch (Exception e) when (e is CudaException or EntryPointNotFoundException or DllNotFoundException)
        {
            why = e.Message;
            return null;
        }
    }

    /// <summary>Whether the weight, activations and output all have the <see cref="Alignment"/> the algorithms were chosen for.</summary>
    public static bool Aligned(ulong w, ulong x, ulong y) => ((w | x | y) & (Alignment - 1)) == 0;

    /// <summary>
    /// The heuristic's algorithms for <paramref name="shape"/>, fastest estimate first, those whose workspace fits; empty
    /// where cuBLASLt has none (or the heuristic fails: the caller then keeps GemmEx).
    /// </summary>
    public IReadOnlyList<LtAlgorithm> Candidates(GemmShape shape)
    {
        _device.MakeCurrent();
        var layouts = LayoutsFor(shape);

        // Split-K partial sums added in the output type would be rounded to bf16 at every step: no longer the fp32
        // accumulation GemmEx gives. A bf16 output takes only reductions in the compute type (fp32).
        var reductions = shape.Fp32Output ? CublasLt.ReductionAny : CublasLt.ReductionComputeType;
        if (CublasLt.cublasLtMatmulPreferenceSetAttribute(_preference, CublasLt.PreferenceReductionSchemeMask, &reductions, sizeof(uint)) != 0)
        {
            return [];
        }

        var results = stackalloc CublasLt.HeuristicResult[MaxCandidates];
        var status = CublasLt.cublasLtMatmulAlgoGetHeuristic(_handle, _desc, layouts.A, layouts.B, layouts.D, layouts.D, _preference, MaxCandidates, results, out var returned);
        var candidates = new List<LtAlgorithm>();
        if (status != 0)
        {
            return candidates;
        }

        for (var i = 0; i < Math.Min(returned, MaxCandidates); i++)
        {
            var result = results + i;
            if (result->State == 0 && result->WorkspaceSize <= (nuint)WorkspaceBytes)
            {
                candidates.Add(Describe(result));
            }
        }

        return candidates;
    }

    /// <summary>
    /// y = x · wᵀ of <paramref name="shape"/> with <paramref name="algorithm"/> (one of its <see cref="Candidates"/>),
    /// enqueued on the stream; the cuBLAS status (0: enqueued; otherwise nothing was launched).
    /// </summary>
    public int Run(GemmShape shape, LtAlgorithm algorithm, ulong w, ulong x, ulong y)
    {
        var layouts = LayoutsFor(shape);
        float alpha = 1f, beta = 0f;
        fixed (ulong* algo = algorithm.Descriptor)
        {
            return CublasLt.cublasLtMatmul(
                _handle, _desc, &alpha, w, layouts.A, x, layouts.B, &beta, y, layouts.D, y, layouts.D,
                algo, _workspace.Pointer, (nuint)WorkspaceBytes, _stream.Handle);
        }
    }

    public void Dispose()
    {
        _device.MakeCurrent();
        foreach (var layouts in _layouts.Values)
        {
            layouts.Dispose();
        }

        _layouts.Clear();
        if (_preference != 0)
        {
            CublasLt.cublasLtMatmulPreferenceDestroy(_preference);
            _preference = 0;
        }

        if (_desc != 0)
        {
            CublasLt.cublasLtMatmulDescDestroy(_desc);
            _desc = 0;
        }

        if (_handle != 0)
        {
            CublasLt.cublasLtDestroy(_handle);
            _handle = 0;
        }

        _workspace.Dispose();
    }

    private static LtAlgorithm Describe(CublasLt.HeuristicResult* result)
    {
        var descriptor = new ulong[CublasLt.AlgoWords];
        for (var i = 0; i < descriptor.Length; i++)
        {
            descriptor[i] = result->Algo[i];
        }

        return new LtAlgorithm(
            descriptor, (long)result->WorkspaceSize,
            Config(result, CublasLt.AlgoConfigId), Config(result, CublasLt.AlgoConfigTileId),
            Config(result, CublasLt.AlgoConfigSplitKNum), Config(result, CublasLt.AlgoConfigStagesId));
    }

    /// <summary>A 4-byte configuration attribute of the algorithm, or -1 where this cuBLASLt does not report it.</summary>
    private static int Config(CublasLt.HeuristicResult* result, int attribute)
    {
        var value = 0;
        return CublasLt.cublasLtMatmulAlgoConfigGetAttribute(result->Algo, attribute, &value, sizeof(int), out _) == 0 ? value : -1;
    }

    /// <summary>The shape's layouts, made once: few shapes are tuned, and a captured product must find its layouts alive.</summary>
    private Layouts LayoutsFor(GemmShape shape)
    {
        if (!_layouts.TryGetValue(shape, out var layouts))
        {
            layouts = new Layouts(shape);
            _layouts[shape] = layouts;
        }

        return layouts;
    }

    /// <summary>A = weight [in, out] (read transposed), B = activations [in, rows], D = y [out, rows], column-major.</summary>
    private sealed class Layouts : IDisposable
    {
        public Layouts(GemmShape s)
        {
            var output = s.Fp32Output ? Cublas.CUDA_R_32F : Cublas.CUDA_R_16BF;
            CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(out var a, Cublas.CUDA_R_16BF, (ulong)s.InFeatures, (ulong)s.OutFeatures, s.InFeatures), "cublasLtMatrixLayoutCreate(A)");
            A = a;
            CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(out var b, Cublas.CUDA_R_16BF, (ulong)s.InFeatures, (ulong)s.Rows, s.InFeatures), "cublasLtMatrixLayoutCreate(B)");
            B = b;
            CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(out var d, output, (ulong)s.OutFeatures, (ulong)s.Rows, s.OutFeatures), "cublasLtMatrixLayoutCreate(D)");
            D = d;
        }

        public nint A { get; }

        public nint B { get; }

        public nint D { get; }

        public void Dispose()
        {
            CublasLt.cublasLtMatrixLayoutDestroy(A);
            CublasLt.cublasLtMatrixLayoutDestroy(B);
            CublasLt.cublasLtMatrixLayoutDestroy(D);
        }
    }
}
