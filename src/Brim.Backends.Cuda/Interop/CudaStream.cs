namespace Brim.Backends.Cuda.Interop;

/// <summary>
/// A non-blocking stream; all of a backend's work is ordered on one of these. A high-priority stream's blocks are
/// scheduled ahead of default-priority streams' wherever both have work waiting (two models sharing one GPU).
/// </summary>
internal sealed unsafe class CudaStream : IDisposable
{
    private readonly CudaDevice _device;

    /// <param name="programmaticLaunch">
    /// Let kernels that support it (<see cref="KernelFunction.Programmatic"/>) start while the previous kernel runs
    /// (programmatic dependent launch); needs sm_90.
    /// </param>
    public CudaStream(CudaDevice device, bool highPriority = false, bool programmaticLaunch = false)
    {
        if (programmaticLaunch && device.ComputeCapability < MinProgrammaticLaunchComputeCapability)
        {
            throw new ArgumentException($"programmatic dependent launch needs compute capability 9.0; {device.Name} is {device.ComputeCapability / 10}.{device.ComputeCapability % 10}", nameof(programmaticLaunch));
        }

        _device = device;
        device.MakeCurrent();
        nint stream;
        if (highPriority)
        {
            CuDriver.Check(CuDriver.cuCtxGetStreamPriorityRange(out _, out var greatest), "cuCtxGetStreamPriorityRange");
            CuDriver.Check(CuDriver.cuStreamCreateWithPriority(out stream, CuDriver.CU_STREAM_NON_BLOCKING, greatest), "cuStreamCreateWithPriority");
        }
        else
        {
            CuDriver.Check(CuDriver.cuStreamCreate(out stream, CuDriver.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        }

        Handle = stream;
        HighPriority = highPriority;
        ProgrammaticLaunch = programmaticLaunch;
    }

    public const int MinProgrammaticLaunchComputeCapability = 90;

    public bool HighPriority { get; }

    /// <summary>Whether programmatic kernels launched here may overlap the previous kernel (see the constructor).</summary>
    public bool ProgrammaticLaunch { get; }

    public nint Handle { get; private set; }

    public void Synchronize() => CuDriver.Check(CuDriver.cuStreamSynchronize(Handle), "cuStreamSynchronize");

    /// <summary>Work enqueued here from now on waits for <paramref name="recorded"/> (recorded on another stream); the host does not wait.</summary>
    public void WaitFor(CudaEvent recorded) => CuDriver.Check(CuDriver.cuStreamWaitEvent(Handle, recorded.Handle, 0), "cuStreamWaitEvent");

    public void CopyToDevice(ulong destination, void* source, long bytes)
        => CuDriver.Check(CuDriver.cuMemcpyHtoDAsync(destination, source, (nuint)bytes, Handle), $"cuMemcpyHtoDAsync({bytes} bytes)");

    public void CopyToHost(void* destination, ulong source, long bytes)
        => CuDriver.Check(CuDriver.cuMemcpyDtoHAsync(destination, source, (nuint)bytes, Handle), $"cuMemcpyDtoHAsync({bytes} bytes)");

    public void CopyDeviceToDevice(ulong destination, ulong source, long bytes)
        => CuDriver.Check(CuDriver.cuMemcpyDtoDAsync(destination, source, (nuint)bytes, Handle), $"cuMemcpyDtoDAsync({bytes} bytes)");

    public void Fill(ulong destination, byte value, long bytes)
        => CuDriver.Check(CuDriver.cuMemsetD8Async(destination, value, (nuint)bytes, Handle), $"cuMemsetD8Async({bytes} bytes)");

    /// <summary>Copies managed data to the device, synchronously (setup and tests only: stages through a pinned buffer).</summary>
    public void Upload<T>(ulong destination, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        var bytes = (long)source.Length * sizeof(T);
        using var staging = new PinnedHostBuffer(_device, Math.Max(1, bytes));
        source.CopyTo(staging.AsSpan<T>(0, source.Length));
        CopyToDevice(destination, staging.Pointer, bytes);
        Synchronize();
    }

    /// <summary>Copies device data into managed memory, synchronously (tests and setup only).</summary>
    public void Download<T>(ulong source, Span<T> destination)
        where T : unmanaged
    {
        var bytes = (long)destination.Length * sizeof(T);
        using var staging = new PinnedHostBuffer(_device, Math.Max(1, bytes));
        CopyToHost(staging.Pointer, source, bytes);
        Synchronize();
        staging.AsSpan<T>(0, destination.Length).CopyTo(destination);
    }

    public void Dispose()
    {
        if (Handle != 0)
        {
            _device.MakeCurrent();
            CuDriver.cuStreamDestroy(Handle);
            Handle = 0;
        }
    }
}
