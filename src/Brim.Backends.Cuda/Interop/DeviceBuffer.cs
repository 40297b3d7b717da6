using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>A device allocation (cuMemAlloc). The handle is the device pointer; freeing binds the owning context first.</summary>
internal sealed class DeviceBuffer : SafeHandle
{
    private readonly CudaDevice _device;

    public DeviceBuffer(CudaDevice device, long bytes)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        _device = device;
        device.MakeCurrent();
        CuDriver.Check(CuDriver.cuMemAlloc(out var pointer, (nuint)bytes), $"cuMemAlloc({bytes} bytes)");
        SetHandle((nint)pointer);
        Bytes = bytes;
    }

    public long Bytes { get; }

    /// <summary>The device address of the first byte.</summary>
    public ulong Pointer => (ulong)handle;

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Address of byte <paramref name="byteOffset"/>, checked against the allocation.</summary>
    public ulong At(long byteOffset)
    {
        if (byteOffset < 0 || byteOffset > Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"offset {byteOffset} outside a buffer of {Bytes} bytes");
        }

        return Pointer + (ulong)byteOffset;
    }

    protected override bool ReleaseHandle()
    {
        CuDriver.cuCtxSetCurrent(_device.Context);
        return CuDriver.cuMemFree((ulong)handle) == 0;
    }
}
