using System.Runtime.InteropServices;

namespace Brim.Telemetry.Nvml;

/// <summary>
/// The few NVML entry points Brim samples (libnvidia-ml.so.1 ships with the NVIDIA driver). Every call returns an
/// nvmlReturn_t; 0 is success. Signatures follow nvml.h.
/// </summary>
internal static partial class NvmlNative
{
    public const string Library = "libnvidia-ml.so.1";
    public const int Success = 0;
    public const int ErrorNotSupported = 3;
    public const int ClockSm = 1; // NVML_CLOCK_SM
    public const int NameBufferSize = 96; // NVML_DEVICE_NAME_V2_BUFFER_SIZE

    [StructLayout(LayoutKind.Sequential)]
    public struct Utilization
    {
        public uint Gpu;    // percent of the sample period during which one or more kernels ran
        public uint Memory; // percent of the sample period during which device memory was read or written
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Memory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [LibraryImport(Library, EntryPoint = "nvmlInit_v2")]
    public static partial int Init();

    [LibraryImport(Library, EntryPoint = "nvmlShutdown")]
    public static partial int Shutdown();

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetCount_v2")]
    public static partial int DeviceGetCount(out uint count);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    public static partial int DeviceGetHandleByIndex(uint index, out nint device);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetUtilizationRates")]
    public static partial int DeviceGetUtilizationRates(nint device, out Utilization utilization);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetMemoryInfo")]
    public static partial int DeviceGetMemoryInfo(nint device, out Memory memory);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetPowerUsage")]
    public static partial int DeviceGetPowerUsage(nint device, out uint milliwatts);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetClockInfo")]
    public static partial int DeviceGetClockInfo(nint device, int clockType, out uint megahertz);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetName")]
    public static unsafe partial int DeviceGetName(nint device, byte* name, uint length);

    [LibraryImport(Library, EntryPoint = "nvmlErrorString")]
    public static partial nint ErrorString(int result);

    /// <summary>NVML's description of a return code.</summary>
    public static string Describe(int result)
    {
        var text = Marshal.PtrToStringUTF8(ErrorString(result));
        return $"{text ?? "unknown error"} (nvmlReturn {result})";
    }

    public static unsafe string DeviceName(nint device)
    {
        var buffer = stackalloc byte[NameBufferSize];
        var rc = DeviceGetName(device, buffer, NameBufferSize);
        return rc == Success ? Marshal.PtrToStringUTF8((nint)buffer) ?? "?" : $"device name unavailable: {Describe(rc)}";
    }
}
