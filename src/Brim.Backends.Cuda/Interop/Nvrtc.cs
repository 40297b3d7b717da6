using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>The NVRTC runtime compiler (libnvrtc.so): CUDA C++ source to cubin at run time.</summary>
internal static unsafe partial class Nvrtc
{
    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcVersion(out int major, out int minor);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcCreateProgram(out nint program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcDestroyProgram(ref nint program);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcCompileProgram(nint program, int optionCount, byte** options);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcGetProgramLogSize(nint program, out nuint size);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcGetProgramLog(nint program, byte* log);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcGetCUBINSize(nint program, out nuint size);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial int nvrtcGetCUBIN(nint program, byte* cubin);

    [LibraryImport(NativeLibraries.Nvrtc)]
    public static partial byte* nvrtcGetErrorString(int result);

    public static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new CudaException($"{call} failed: {Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(result))} (nvrtcResult {result})");
        }
    }
}
