using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>The subset of the CUDA driver API (libcuda.so.1) Brim uses. Every call returns a CUresult; use <see cref="Check"/>.</summary>
internal static unsafe partial class CuDriver
{
    public const int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public const int CU_STREAM_NON_BLOCKING = 1;
    public const int CU_EVENT_DISABLE_TIMING = 2;
    public const int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    public const int CU_MEMHOSTALLOC_PORTABLE = 1;
    public const int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    public const int CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT = 9;
    public const int CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuInit(uint flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDriverGetVersion(out int version);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDeviceGetCount(out int count);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDeviceGet(out int device, int ordinal);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuDevicePrimaryCtxRetain(out nint context, int device);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuDevicePrimaryCtxRelease_v2")]
    public static partial int cuDevicePrimaryCtxRelease(int device);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuCtxSetCurrent(nint context);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuCtxSynchronize();

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemGetInfo_v2")]
    public static partial int cuMemGetInfo(out nuint free, out nuint total);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemAlloc_v2")]
    public static partial int cuMemAlloc(out ulong pointer, nuint bytes);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemFree_v2")]
    public static partial int cuMemFree(ulong pointer);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuMemHostAlloc(out void* pointer, nuint bytes, uint flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuMemFreeHost(void* pointer);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemcpyHtoDAsync_v2")]
    public static partial int cuMemcpyHtoDAsync(ulong destination, void* source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemcpyDtoHAsync_v2")]
    public static partial int cuMemcpyDtoHAsync(void* destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuMemcpyDtoDAsync_v2")]
    public static partial int cuMemcpyDtoDAsync(ulong destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuMemsetD8Async(ulong destination, byte value, nuint count, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamCreate(out nint stream, uint flags);

    /// <summary>Lower numbers are higher priorities; 0 is the default (the least).</summary>
    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamCreateWithPriority(out nint stream, uint flags, int priority);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuCtxGetStreamPriorityRange(out int leastPriority, out int greatestPriority);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuStreamDestroy_v2")]
    public static partial int cuStreamDestroy(nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamSynchronize(nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventCreate(out nint ev, uint flags);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuEventDestroy_v2")]
    public static partial int cuEventDestroy(nint ev);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventRecord(nint ev, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamWaitEvent(nint stream, nint ev, uint flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventSynchronize(nint ev);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuEventElapsedTime(out float milliseconds, nint start, nint end);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuModuleLoadData(out nint module, void* image);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuModuleUnload(nint module);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuModuleGetFunction(out nint function, nint module, byte* name);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuFuncSetAttribute(nint function, int attribute, int value);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuLaunchKernel(
        nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, nint stream, void** parameters, void** extra);

    /// <summary>cuLaunchKernel with launch attributes (CUDA 12+): here only programmatic stream serialization.</summary>
    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuLaunchKernelEx(LaunchConfig* config, nint function, void** parameters, void** extra);

    [LibraryImport(NativeLibraries.Driver, EntryPoint = "cuStreamBeginCapture_v2")]
    public static partial int cuStreamBeginCapture(nint stream, int mode);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuStreamEndCapture(nint stream, out nint graph);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphInstantiateWithFlags(out nint graphExec, nint graph, ulong flags);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphLaunch(nint graphExec, nint stream);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphExecDestroy(nint graphExec);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGraphDestroy(nint graph);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGetErrorName(int error, out byte* name);

    [LibraryImport(NativeLibraries.Driver)]
    public static partial int cuGetErrorString(int error, out byte* text);

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="call"/> and the driver's error text unless the result is CUDA_SUCCESS.</summary>
    public static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new CudaException($"{call} failed: {Describe(result)}");
        }
    }

    public static string Describe(int result)
    {
        string name = $"CUresult {result}", text = string.Empty;
        if (cuGetErrorName(result, out var namePtr) == 0 && namePtr != null)
        {
            name = Marshal.PtrToStringUTF8((nint)namePtr) ?? name;
        }

        if (cuGetErrorString(result, out var textPtr) == 0 && textPtr != null)
        {
            text = Marshal.PtrToStringUTF8((nint)textPtr) ?? string.Empty;
        }

        return text.Length == 0 ? name : $"{name} ({text})";
    }
}

/// <summary>CUlaunchConfig (cuda.h): grid, block, dynamic shared bytes, stream and an attribute array.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LaunchConfig
{
    public uint GridX, GridY, GridZ;
    public uint BlockX, BlockY, BlockZ;
    public uint SharedBytes;
    public nint Stream;
    public LaunchAttribute* Attributes;
    public uint AttributeCount;
}

/// <summary>CUlaunchAttribute (cuda.h): an id padded to 8 bytes, then a 64-byte value union; here its first int.</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal struct LaunchAttribute
{
    [FieldOffset(0)]
    public int Id;

    [FieldOffset(8)]
    public int Value;
}
