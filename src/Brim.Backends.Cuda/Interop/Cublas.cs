using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>The subset of cuBLAS (libcublas.so) Brim uses: GemmEx with bf16 operands and fp32 accumulation.</summary>
internal static unsafe partial class Cublas
{
    public const int CUBLAS_OP_N = 0;
    public const int CUBLAS_OP_T = 1;
    public const int CUDA_R_32F = 0;
    public const int CUDA_R_16BF = 14;
    public const int CUBLAS_COMPUTE_32F = 68;
    public const int CUBLAS_GEMM_DEFAULT = -1;

    [LibraryImport(NativeLibraries.Cublas, EntryPoint = "cublasCreate_v2")]
    public static partial int cublasCreate(out nint handle);

    [LibraryImport(NativeLibraries.Cublas, EntryPoint = "cublasDestroy_v2")]
    public static partial int cublasDestroy(nint handle);

    [LibraryImport(NativeLibraries.Cublas, EntryPoint = "cublasSetStream_v2")]
    public static partial int cublasSetStream(nint handle, nint stream);

    [LibraryImport(NativeLibraries.Cublas)]
    public static partial int cublasSetWorkspace_v2(nint handle, ulong workspace, nuint bytes);

    [LibraryImport(NativeLibraries.Cublas)]
    public static partial int cublasGemmEx(
        nint handle, int transA, int transB, int m, int n, int k,
        void* alpha, ulong a, int aType, int lda,
        ulong b, int bType, int ldb,
        void* beta, ulong c, int cType, int ldc,
        int computeType, int algorithm);

    [LibraryImport(NativeLibraries.Cublas)]
    public static partial byte* cublasGetStatusString(int status);

    public static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new CudaException($"{call} failed: {Marshal.PtrToStringUTF8((nint)cublasGetStatusString(status))} (cublasStatus {status})");
        }
    }
}
