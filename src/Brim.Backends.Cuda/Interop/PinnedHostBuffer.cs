using System.Runtime.InteropServices;

namespace Brim.Backends.Cuda.Interop;

/// <summary>Page-locked host memory (cuMemHostAlloc): the source and target of truly asynchronous copies.</summary>
internal sealed unsafe class PinnedHostBuffer : SafeHandle
{
    private readonly CudaDevice _device;

    public PinnedHostBuffer(CudaDevice device, long bytes)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        _device = device;
        device.MakeCurrent();
        CuDriver.Check(CuDriver.cuMemHostAlloc(out var pointer, (nuint)bytes, CuDriver.CU_MEMHOSTALLOC_PORTABLE), $"cuMemHostAlloc({bytes} bytes)");
        SetHandle((nint)pointer);
        Bytes = bytes;
    }

    public long Bytes { get; }

    public void* Pointer => (void*)handle;

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Address of byte <paramref name="byteOffset"/>, checked against the allocation.</summary>
    public void* At(long byteOffset)
    {
        if (byteOffset < 0 || byteOffset > Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"offset {byteOffset} outside a pinned buffer of {Bytes} bytes");
        }

        return (byte*)handle + byteOffset;
    }

    public Span<T> AsSpan<T>(long byteOffset, int count)
        where T : unmanaged
    {
        if (byteOffset < 0 || byteOffset + ((long)count * sizeof(T)) > Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} x {sizeof(T)} bytes at {byteOffset} exceed a pinned buffer of {Bytes} bytes");
        }

        return new Span<T>((byte*)handle + byteOffset, count);
    }

    protected override bool ReleaseHandle()
    {
        CuDriver.cuCtxSetCurrent(_device.Context);
        return CuDriver.cuMemFreeHost((void*)handle) == 0;
    }
}
