using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>
/// The subset of NCCL (libnccl.so.2) tensor parallelism needs: communicators for the GPUs of one process, sum
/// all-reduce and all-gather enqueued on a stream, and group calls. Values as in nccl.h (NCCL 2.10+: bf16 is type 9).
/// </summary>
internal static unsafe partial class Nccl
{
    public const int Success = 0;

    /// <summary>ncclResult_t 7: a non-blocking call not finished yet; Brim's communicators are blocking, so never returned.</summary>
    public const int InProgress = 7;

    /// <summary>ncclDataType_t.</summary>
    public const int Float32 = 7;
    public const int Bfloat16 = 9;

    /// <summary>ncclRedOp_t.</summary>
    public const int Sum = 0;

    /// <summary>NCCL_VERSION_CODE of the first release with bf16 collectives (2.10.0).</summary>
    public const int MinVersion = 21000;

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclGetVersion(out int version);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommInitAll(nint* comms, int devices, int* deviceList);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommDestroy(nint comm);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommAbort(nint comm);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommCount(nint comm, out int count);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommCuDevice(nint comm, out int device);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclCommUserRank(nint comm, out int rank);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclAllReduce(ulong send, ulong receive, nuint count, int dataType, int op, nint comm, nint stream);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclAllGather(ulong send, ulong receive, nuint sendCount, int dataType, nint comm, nint stream);

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclGroupStart();

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial int ncclGroupEnd();

    [LibraryImport(NativeLibraries.Nccl)]
    public static partial nint ncclGetErrorString(int result);

    public static void Check(int result, string call)
    {
        if (result != Success)
        {
            throw new CudaException($"{call} failed: NCCL error {result} ({Marshal.PtrToStringUTF8(ncclGetErrorString(result)) ?? "unknown"})");
        }
    }

    /// <summary>NCCL_VERSION_CODE (2.28.3 is 22803) as "2.28.3".</summary>
    public static string DescribeVersion(int code) => code >= 10000
        ? $"{code / 10000}.{code / 100 % 100}.{code % 100}"
        : $"{code / 1000}.{code / 100 % 10}.{code % 100}";
}
