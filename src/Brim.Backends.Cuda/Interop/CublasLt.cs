using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>The subset of cuBLASLt (libcublasLt.so) Brim uses: FP8 matmuls with a scale per row of each operand.</summary>
internal static unsafe partial class CublasLt
{
    public const int CUDA_R_8F_E4M3 = 28;
    public const int MatmulDescTransA = 3;
    public const int MatmulDescTransB = 4;
    public const int MatmulDescAScalePointer = 17;
    public const int MatmulDescBScalePointer = 18;
    public const int MatmulDescAScaleMode = 31;
    public const int MatmulDescBScaleMode = 32;

    /// <summary>cublasLtMatmulMatrixScale_t OUTER_VEC_32F: one float per row of op(A) (M) or per column of op(B) (N).</summary>
    public const int MatrixScaleOuterVec32F = 3;

    public const int PreferenceMaxWorkspaceBytes = 1;

    /// <summary>cublasLtMatmulHeuristicResult_t: the algorithm (64 opaque bytes), its workspace, status and waves.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct HeuristicResult
    {
        public fixed ulong Algo[8];
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
    public static partial int cublasLtMatmul(
        nint handle, nint desc, void* alpha, ulong a, nint aLayout, ulong b, nint bLayout, void* beta, ulong c, nint cLayout,
        ulong d, nint dLayout, void* algo, ulong workspace, nuint workspaceBytes, nint stream);

    public static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new CudaException($"{call} failed (cublasStatus {status})");
        }
    }
}
