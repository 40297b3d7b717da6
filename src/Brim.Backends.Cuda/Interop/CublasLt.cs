using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>
/// The subset of cuBLASLt (libcublasLt.so) Brim uses: matmul descriptors, column-major layouts, the heuristic and the
/// matmul, for E4M3 × E4M3 and bf16 × bf16 products with fp32 accumulation, and the read-only configuration of an
/// algorithm the heuristic returned. Values as in cublasLt.h (checked against CUDA 11.8's header; the enums have only
/// grown since).
/// </summary>
internal static unsafe partial class CublasLt
{
    public const int CUDA_R_8F_E4M3 = 28;

    /// <summary>cublasLtMatmulDescAttributes_t.</summary>
    public const int MatmulDescTransA = 3;
    public const int MatmulDescTransB = 4;

    /// <summary>CUBLASLT_MATMUL_DESC_FAST_ACCUM (int8): FP8 partial sums never promoted to fp32 on the way; faster, less exact.</summary>
    public const int MatmulDescFastAccum = 25;

    /// <summary>CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET (int32; 0: every SM): the SMs a product plans for, leaving the rest to a concurrent stream.</summary>
    public const int MatmulDescSmCountTarget = 15;

    /// <summary>cublasLtMatmulPreferenceAttributes_t CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES (uint64).</summary>
    public const int PreferenceMaxWorkspaceBytes = 1;

    /// <summary>
    /// CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK (uint32): which cublasLtReductionScheme_t split-K algorithms may use to
    /// add their partial sums: INPLACE (1) and OUTPUT_TYPE (4) add them in the output type, COMPUTE_TYPE (2) in the
    /// compute type; 7 allows all.
    /// </summary>
    public const int PreferenceReductionSchemeMask = 3;
    public const uint ReductionComputeType = 2;
    public const uint ReductionAny = 7;

    /// <summary>
    /// CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_{A,B,C,D}_BYTES (uint32): the heuristic assumes 256-byte aligned operands unless
    /// told otherwise, and an algorithm picked so fails on a less aligned pointer.
    /// </summary>
    public const int PreferenceMinAlignmentA = 5;
    public const int PreferenceMinAlignmentB = 6;
    public const int PreferenceMinAlignmentC = 7;
    public const int PreferenceMinAlignmentD = 8;

    /// <summary>
    /// cublasLtMatmulAlgoConfigAttributes_t, read from an algorithm for reports: its id (int32), tile id, split-K count and
    /// stages id (uint32 each; their enums are cublasLtMatmulTile_t and cublasLtMatmulStages_t).
    /// </summary>
    public const int AlgoConfigId = 0;
    public const int AlgoConfigTileId = 1;
    public const int AlgoConfigSplitKNum = 2;
    public const int AlgoConfigStagesId = 6;

    /// <summary>cublasLtMatmulAlgo_t: eight uint64 words, opaque, valid with the library version that wrote them.</summary>
    public const int AlgoWords = 8;

    /// <summary>
    /// cublasLtMatmulHeuristicResult_t: the algorithm (cublasLtMatmulAlgo_t, 64 opaque bytes), its workspace (size_t),
    /// status (cublasStatus_t), waves (float) and four reserved ints: 96 bytes on a 64-bit host.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct HeuristicResult
    {
        public fixed ulong Algo[AlgoWords];
        public nuint WorkspaceSize;
        public int State;
        public float WavesCount;
        public fixed int Reserved[4];
    }

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtCreate(out nint handle);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtDestroy(nint handle);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial nuint cublasLtGetVersion();

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulDescCreate(out nint desc, int computeType, int scaleType);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulDescSetAttribute(nint desc, int attribute, void* value, nuint bytes);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulDescDestroy(nint desc);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatrixLayoutCreate(out nint layout, int type, ulong rows, ulong cols, long ld);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatrixLayoutDestroy(nint layout);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulPreferenceCreate(out nint preference);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulPreferenceSetAttribute(nint preference, int attribute, void* value, nuint bytes);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulPreferenceDestroy(nint preference);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulAlgoGetHeuristic(
        nint handle, nint desc, nint a, nint b, nint c, nint d, nint preference, int requested, HeuristicResult* results, out int returned);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmulAlgoConfigGetAttribute(void* algo, int attribute, void* value, nuint bytes, out nuint written);

    [LibraryImport(NativeLibraries.CublasLt)]
    public static partial int cublasLtMatmul(
        nint handle, nint desc, void* alpha, ulong a, nint aLayout, ulong b, nint bLayout, void* beta, ulong c, nint cLayout,
        ulong d, nint dLayout, void* algo, ulong workspace, nuint workspaceBytes, nint stream);

    /// <summary>
    /// A matmul descriptor for y = x · wᵀ as Brim's products lay them out (the weight [out, in] row-major is A transposed,
    /// the activations B as they are), fp32 accumulation and scale.
    /// </summary>
    public static nint CreateWeightTimesActivationsDesc()
    {
        Check(cublasLtMatmulDescCreate(out var desc, Cublas.CUBLAS_COMPUTE_32F, Cublas.CUDA_R_32F), "cublasLtMatmulDescCreate");
        try
        {
            int transposed = Cublas.CUBLAS_OP_T, plain = Cublas.CUBLAS_OP_N;
            Check(cublasLtMatmulDescSetAttribute(desc, MatmulDescTransA, &transposed, sizeof(int)), "cublasLtMatmulDescSetAttribute(TRANSA)");
            Check(cublasLtMatmulDescSetAttribute(desc, MatmulDescTransB, &plain, sizeof(int)), "cublasLtMatmulDescSetAttribute(TRANSB)");
            return desc;
        }
        catch
        {
            cublasLtMatmulDescDestroy(desc);
            throw;
        }
    }

    /// <summary>A heuristic preference that allows algorithms needing at most <paramref name="workspaceBytes"/> of workspace.</summary>
    public static nint CreateWorkspacePreference(long workspaceBytes)
    {
        Check(cublasLtMatmulPreferenceCreate(out var preference), "cublasLtMatmulPreferenceCreate");
        var workspace = (ulong)workspaceBytes;
        var status = cublasLtMatmulPreferenceSetAttribute(preference, PreferenceMaxWorkspaceBytes, &workspace, sizeof(ulong));
        if (status != 0)
        {
            cublasLtMatmulPreferenceDestroy(preference);
        }

        Check(status, "cublasLtMatmulPreferenceSetAttribute(workspace)");
        return preference;
    }

    public static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new CudaException($"{call} failed (cublasStatus {status})");
        }
    }
}
