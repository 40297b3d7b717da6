namespace Brim.Backends.Cuda.Interop;

/// <summary>A stream event: ordering between host and device, and (when timing is on) device-side timing.</summary>
internal sealed class CudaEvent : IDisposable
{
    private readonly CudaDevice _device;

    public CudaEvent(CudaDevice device, bool timing = false)
    {
        _device = device;
        device.MakeCurrent();
        CuDriver.Check(CuDriver.cuEventCreate(out var ev, timing ? 0u : CuDriver.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        Handle = ev;
    }

    public nint Handle { get; private set; }

    public void Record(CudaStream stream) => CuDriver.Check(CuDriver.cuEventRecord(Handle, stream.Handle), "cuEventRecord");

    public void Synchronize() => CuDriver.Check(CuDriver.cuEventSynchronize(Handle), "cuEventSynchronize");

    /// <summary>Milliseconds between two recorded (and completed) timing events.</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        CuDriver.Check(CuDriver.cuEventElapsedTime(out var ms, start.Handle, end.Handle), "cuEventElapsedTime");
        return ms;
    }

    public void Dispose()
    {
        if (Handle != 0)
        {
            _device.MakeCurrent();
            CuDriver.cuEventDestroy(Handle);
            Handle = 0;
        }
    }
}
