using System.Runtime.InteropServices;
using System.Text;

namespace Brim.Backends.Cuda.Interop;

/// <summary>
/// One GPU and its primary context (the context the CUDA runtime and cuBLAS use too), made current on whichever
/// thread calls <see cref="MakeCurrent"/>. Owns nothing else; buffers and streams hold a reference to it.
/// </summary>
internal sealed unsafe class CudaDevice : IDisposable
{
    private bool _disposed;

    private CudaDevice(int ordinal, int device, nint context)
    {
        Ordinal = ordinal;
        Device = device;
        Context = context;
        var name = stackalloc byte[256];
        CuDriver.Check(CuDriver.cuDeviceGetName(name, 256, device), "cuDeviceGetName");
        Name = Marshal.PtrToStringUTF8((nint)name) ?? $"cuda:{ordinal}";
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(out var major, CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device), "cuDeviceGetAttribute(major)");
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(out var minor, CuDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device), "cuDeviceGetAttribute(minor)");
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(out var sms, CuDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device), "cuDeviceGetAttribute(multiprocessors)");
        CuDriver.Check(CuDriver.cuDriverGetVersion(out var driver), "cuDriverGetVersion");
        ComputeCapability = (major * 10) + minor;
        MultiprocessorCount = sms;
        DriverVersion = driver;
    }

    public int Ordinal { get; }

    public int Device { get; }

    public nint Context { get; }

    public string Name { get; }

    /// <summary>Major * 10 + minor (90 for Hopper).</summary>
    public int ComputeCapability { get; }

    public int MultiprocessorCount { get; }

    /// <summary>The driver's CUDA version, 1000 * major + 10 * minor.</summary>
    public int DriverVersion { get; }

    /// <summary>How many CUDA devices the driver reports (throws where the driver is missing).</summary>
    public static int Count()
    {
        CuDriver.Check(CuDriver.cuInit(0), "cuInit");
        CuDriver.Check(CuDriver.cuDeviceGetCount(out var count), "cuDeviceGetCount");
        return count;
    }

    public static CudaDevice Open(int ordinal)
    {
        var count = Count();
        if (ordinal < 0 || ordinal >= count)
        {
            throw new CudaException($"CUDA device {ordinal} does not exist ({count} device(s) present)");
        }

        CuDriver.Check(CuDriver.cuDeviceGet(out var device, ordinal), "cuDeviceGet");
        CuDriver.Check(CuDriver.cuDevicePrimaryCtxRetain(out var context, device), "cuDevicePrimaryCtxRetain");
        CuDriver.Check(CuDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        return new CudaDevice(ordinal, device, context);
    }

    /// <summary>Binds the context to the calling thread; cheap, and needed before any call from a new thread.</summary>
    public void MakeCurrent() => CuDriver.Check(CuDriver.cuCtxSetCurrent(Context), "cuCtxSetCurrent");

    public (long Free, long Total) MemoryInfo()
    {
        MakeCurrent();
        CuDriver.Check(CuDriver.cuMemGetInfo(out var free, out var total), "cuMemGetInfo");
        return ((long)free, (long)total);
    }

    public void Synchronize() => CuDriver.Check(CuDriver.cuCtxSynchronize(), "cuCtxSynchronize");

    public override string ToString() => new StringBuilder().Append(Name).Append(" (sm_").Append(ComputeCapability).Append(", ").Append(MultiprocessorCount).Append(" SMs)").ToString();

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            CuDriver.cuDevicePrimaryCtxRelease(Device);
        }
    }
}
