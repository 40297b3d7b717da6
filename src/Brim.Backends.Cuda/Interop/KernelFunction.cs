namespace Brim.Backends.Cuda.Interop;

/// <summary>A kernel entry point; launched with arguments gathered in a <see cref="KernelArguments"/>.</summary>
internal readonly unsafe struct KernelFunction(nint handle, string name, bool programmatic = false)
{
    public string Name { get; } = name;

    /// <summary>
    /// Whether launches on a stream that allows it (<see cref="CudaStream.ProgrammaticLaunch"/>) carry programmatic
    /// stream serialization: the kernel may start while the previous kernel on the stream still runs.
    /// </summary>
    public bool Programmatic { get; } = programmatic;

    /// <summary>
    /// This entry point, launched programmatically where the stream allows it. Only for kernels whose every thread calls
    /// common.cuh's pdl_wait before touching what an earlier kernel writes or reads (the kernel sources say so).
    /// </summary>
    public KernelFunction WithProgrammaticLaunch() => new(handle, Name, programmatic: true);

    /// <summary>
    /// Lets launches ask for up to <paramref name="bytes"/> of dynamic shared memory: above 48 KB a kernel must opt in
    /// (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), up to the device's per-block maximum.
    /// </summary>
    public void AllowDynamicSharedBytes(int bytes)
        => CuDriver.Check(CuDriver.cuFuncSetAttribute(handle, CuDriver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes), $"cuFuncSetAttribute({Name}, max dynamic shared {bytes})");

    /// <summary>
    /// Asks for the largest shared-memory carveout of the SM's L1/shared storage (a hint the driver follows unless the
    /// kernel cannot use it), so that several CTAs with large dynamic shared memory are resident at once.
    /// </summary>
    public void PreferSharedMemory()
        => CuDriver.Check(CuDriver.cuFuncSetAttribute(handle, CuDriver.CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, 100), $"cuFuncSetAttribute({Name}, shared memory carveout 100 %)");

    public void Launch(CudaStream stream, (int X, int Y, int Z) grid, int blockThreads, ref KernelArguments arguments, int sharedBytes = 0)
    {
        if (grid.X <= 0 || grid.Y <= 0 || grid.Z <= 0 || grid.Y > 65535 || grid.Z > 65535)
        {
            throw new ArgumentException($"{Name}: invalid grid ({grid.X}, {grid.Y}, {grid.Z})");
        }

        var pointers = stackalloc void*[KernelArguments.Capacity];
        fixed (ulong* values = arguments.Values)
        {
            for (var i = 0; i < arguments.Count; i++)
            {
                pointers[i] = values + i;
            }

            if (Programmatic && stream.ProgrammaticLaunch)
            {
                var attribute = new LaunchAttribute { Id = CuDriver.CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION, Value = 1 };
                var config = new LaunchConfig
                {
                    GridX = (uint)grid.X, GridY = (uint)grid.Y, GridZ = (uint)grid.Z,
                    BlockX = (uint)blockThreads, BlockY = 1, BlockZ = 1,
                    SharedBytes = (uint)sharedBytes, Stream = stream.Handle, Attributes = &attribute, AttributeCount = 1,
                };
                CuDriver.Check(CuDriver.cuLaunchKernelEx(&config, handle, pointers, null), $"cuLaunchKernelEx({Name}, programmatic)");
            }
            else
            {
                var result = CuDriver.cuLaunchKernel(handle, (uint)grid.X, (uint)grid.Y, (uint)grid.Z, (uint)blockThreads, 1, 1, (uint)sharedBytes, stream.Handle, pointers, null);
                CuDriver.Check(result, $"cuLaunchKernel({Name})");
            }
        }
    }

    public void Launch(CudaStream stream, int gridX, int blockThreads, ref KernelArguments arguments)
        => Launch(stream, (gridX, 1, 1), blockThreads, ref arguments);
}

/// <summary>
/// Kernel parameters in launch order, each in its own 8-byte slot (the driver reads each parameter's own size from
/// the slot's address; little-endian keeps 4-byte values at the slot's start). A stack value: no allocation per launch.
/// </summary>
internal unsafe struct KernelArguments
{
    public const int Capacity = 16;
    public fixed ulong Values[Capacity];

    public int Count { get; private set; }

    public void Add(ulong value)
    {
        if (Count == Capacity)
        {
            throw new InvalidOperationException($"a kernel takes at most {Capacity} arguments here");
        }

        Values[Count++] = value;
    }

    public void Add(long value) => Add((ulong)value);

    public void Add(int value) => Add((ulong)(uint)value);

    public void Add(float value) => Add((ulong)BitConverter.SingleToUInt32Bits(value));
}
