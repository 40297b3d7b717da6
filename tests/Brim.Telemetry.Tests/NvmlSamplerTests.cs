using System.Runtime.InteropServices;
using Brim.Telemetry.Nvml;

namespace Brim.Telemetry.Tests;

public class NvmlSamplerTests
{
    private static bool DriverPresent()
    {
        if (!NativeLibrary.TryLoad("libnvidia-ml.so.1", out var handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    }

    [SkippableFact]
    public void Open_NoUsableGpu_SaysWhyAndNeverSamples()
    {
        using var sampler = NvmlSampler.Open();
        Skip.If(sampler.IsAvailable, $"a GPU is present ({sampler.Status}): the absent path cannot be observed here");

        sampler.Start(TimeSpan.FromMilliseconds(10));
        sampler.SampleAll();

        // Either the library is missing (no driver package) or it loads but cannot talk to a driver (the CUDA toolkit
        // installs libnvidia-ml.so.1 without a kernel module): both must say so, with NVML's own reason.
        var expected = DriverPresent()
            ? "NVML not available: nvmlInit_v2 failed: "
            : "NVML not available: libnvidia-ml.so.1 could not be loaded (no NVIDIA driver on this machine)";
        Assert.StartsWith(expected, sampler.Status, StringComparison.Ordinal);
        Assert.False(sampler.IsAvailable);
        Assert.Empty(sampler.Latest());
        Assert.Empty(sampler.DeviceNames);
    }

    [SkippableFact]
    public void Open_NvidiaDriver_ReadsPlausibleCounters()
    {
        Skip.IfNot(DriverPresent(), "no NVIDIA driver (libnvidia-ml.so.1) on this machine");

        using var sampler = NvmlSampler.Open();
        Skip.IfNot(sampler.IsAvailable, sampler.Status);
        sampler.SampleAll();

        var sample = Assert.Single(sampler.Latest(), s => s.Device == 0);
        Assert.InRange(sample.GpuUtilizationPercent, 0, 100);
        Assert.InRange(sample.MemoryTotalBytes, 1e9, 1e13);
        Assert.InRange(sample.MemoryUsedBytes, 0, sample.MemoryTotalBytes);
        Assert.StartsWith("NVML: ", sampler.Status, StringComparison.Ordinal);
        Assert.Null(sampler.LastError);
    }
}
