using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;

namespace Brim.Backends.Cuda.Tests.Support;

/// <summary>Skips a test where no usable CUDA device is present (CI), with the reason.</summary>
internal static class Gpu
{
    private static readonly Lazy<(bool Available, string Reason)> Probe = new(() => (CudaBackend.IsAvailable(out var reason), reason));

    private static readonly Lazy<int> ComputeCapability = new(() =>
    {
        using var device = CudaDevice.Open(0);
        return device.ComputeCapability;
    });

    public static void Require() => Assert.SkipUnless(Probe.Value.Available, $"no CUDA device: {Probe.Value.Reason}");

    /// <summary>Whether device 0 can hold an FP8 KV cache (call after <see cref="Require"/>).</summary>
    public static bool SupportsFp8 => ComputeCapability.Value >= CudaBackend.MinFp8ComputeCapability;

    /// <summary>Whether device 0 can launch kernels programmatically (programmatic dependent launch, sm_90+).</summary>
    public static bool SupportsProgrammaticLaunch => ComputeCapability.Value >= CudaStream.MinProgrammaticLaunchComputeCapability;

    /// <summary>A fresh seed per run, printed on failure through the assertion messages that use it.</summary>
    public static int NewSeed() => Random.Shared.Next();
}

/// <summary>A device, stream and compiler shared by the kernel tests of one class.</summary>
public sealed class GpuFixture : IDisposable
{
    private readonly Lazy<State> _state = new(() =>
    {
        var device = CudaDevice.Open(0);
        return new State(device, new CudaStream(device), new KernelCompiler(device.ComputeCapability, device.DriverVersion, KernelCompiler.DefaultCacheDirectory()));
    });

    internal CudaDevice Device => Get().Device;

    internal CudaStream Stream => Get().Stream;

    internal KernelCompiler Compiler => Get().Compiler;

    public void Dispose()
    {
        if (_state.IsValueCreated)
        {
            _state.Value.Stream.Dispose();
            _state.Value.Device.Dispose();
        }
    }

    internal DeviceBuffer Upload<T>(ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var buffer = new DeviceBuffer(Device, Math.Max(1, values.Length) * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        Stream.Upload(buffer.Pointer, values);
        return buffer;
    }

    internal DeviceBuffer Allocate<T>(long count)
        where T : unmanaged
    {
        var buffer = new DeviceBuffer(Device, Math.Max(1, count) * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        Stream.Fill(buffer.Pointer, 0xFF, buffer.Bytes); // poison: every element the kernel should write must be written
        return buffer;
    }

    internal T[] Download<T>(DeviceBuffer buffer, long count)
        where T : unmanaged
    {
        var values = new T[count];
        Stream.Download(buffer.Pointer, values.AsSpan());
        return values;
    }

    private State Get()
    {
        Gpu.Require();
        var state = _state.Value;
        state.Device.MakeCurrent();
        return state;
    }

    private sealed record State(CudaDevice Device, CudaStream Stream, KernelCompiler Compiler);
}
