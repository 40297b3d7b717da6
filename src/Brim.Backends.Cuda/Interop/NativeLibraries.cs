using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>
/// Maps the logical library names used by the [LibraryImport] declarations to the files a CUDA host actually has:
/// the driver ships only <c>libcuda.so.1</c>, and toolkits install NVRTC and cuBLAS under major-versioned names
/// (<c>libnvrtc.so.13</c>) without the unversioned development link.
/// </summary>
internal static class NativeLibraries
{
    public const string Driver = "brim_cuda";
    public const string Nvrtc = "brim_nvrtc";
    public const string Cublas = "brim_cublas";
    public const string CublasLt = "brim_cublaslt";
    public const string Nccl = "brim_nccl";

    private static readonly string[] DriverNames = ["libcuda.so.1", "libcuda.so"];
    private static readonly string[] NvrtcNames = ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"];
    private static readonly string[] CublasNames = ["libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11"];

    // The same order as cuBLAS's: libcublas itself links its own libcublasLt, so the versions agree where one toolkit is installed.
    private static readonly string[] CublasLtNames = ["libcublasLt.so", "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"];

    // NCCL keeps one ABI per major version (2): the versioned name is what hosts without the development package have.
    private static readonly string[] NcclNames = ["libnccl.so.2", "libnccl.so"];

    // Toolkit locations probed when the loader's cache does not know the library.
    private static readonly string[] ExtraDirectories = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"];

    // A library registers its own resolver before its first P/Invoke; a module initializer is the only hook that
    // runs early enough without asking every caller to remember an init call.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

    /// <summary>Loads the library behind a logical name, or explains which file names were tried.</summary>
    public static bool TryLoad(string logicalName, out IntPtr handle, out string reason)
    {
        var candidates = CandidatesFor(logicalName);
        foreach (var name in candidates)
        {
            if (NativeLibrary.TryLoad(name, out handle))
            {
                reason = string.Empty;
                return true;
            }

            foreach (var dir in ExtraDirectories)
            {
                if (NativeLibrary.TryLoad(Path.Combine(dir, name), out handle))
                {
                    reason = string.Empty;
                    return true;
                }
            }
        }

        handle = IntPtr.Zero;
        reason = $"none of {string.Join(", ", candidates)} could be loaded";
        return false;
    }

    private static string[] CandidatesFor(string logicalName) => logicalName switch
    {
        Driver => DriverNames,
        Nvrtc => NvrtcNames,
        Cublas => CublasNames,
        CublasLt => CublasLtNames,
        Nccl => NcclNames,
        _ => [logicalName],
    };

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName is not (Driver or Nvrtc or Cublas or CublasLt or Nccl))
        {
            return IntPtr.Zero;
        }

        return TryLoad(libraryName, out var handle, out var reason) ? handle : throw new DllNotFoundException($"{libraryName}: {reason}");
    }
}
