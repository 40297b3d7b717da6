using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda;

/// <summary>The two ceilings every number is judged against, measured in the same run: device copy bandwidth and bf16 GEMM rate.</summary>
public sealed record Ceilings(double CopyGBps, double GemmTflops)
{
    internal static Ceilings Measure(CudaDevice device, CudaStream stream)
    {
        const long bytes = 1L << 30;
        using var a = new DeviceBuffer(device, bytes);
        using var b = new DeviceBuffer(device, bytes);
        stream.Fill(a.Pointer, 0x3C, bytes);
        var copyMs = Timing.MedianMs(device, stream, 3, 10, () => stream.CopyDeviceToDevice(b.Pointer, a.Pointer, bytes));
        var copy = 2.0 * bytes / (copyMs * 1e-3) / 1e9; // bytes read + written

        const int n = 8192;
        using var blas = new CublasHandle(device, stream);
        using var x = new DeviceBuffer(device, (long)n * n * 2);
        using var w = new DeviceBuffer(device, (long)n * n * 2);
        using var y = new DeviceBuffer(device, (long)n * n * 2);
        stream.Fill(x.Pointer, 0x3C, x.Bytes); // 0x3C3C: bf16 ≈ 0.0115, not zero (zeros run faster than data)
        stream.Fill(w.Pointer, 0x3B, w.Bytes);
        var gemmMs = Timing.MedianMs(device, stream, 3, 10, () => blas.Linear(w.Pointer, x.Pointer, y.Pointer, n, n, n));
        var tflops = 2.0 * n * n * n / (gemmMs * 1e-3) / 1e12;
        return new Ceilings(copy, tflops);
    }

    public override string ToString() => $"device copy {CopyGBps:F0} GB/s (read + write), bf16 GEMM 8192^3 {GemmTflops:F0} TFLOP/s";
}

/// <summary>Event-timed medians of device work.</summary>
internal static class Timing
{
    internal static double MedianMs(CudaDevice device, CudaStream stream, int warmup, int repeats, Action enqueue)
    {
        using var start = new CudaEvent(device, timing: true);
        using var end = new CudaEvent(device, timing: true);
        for (var i = 0; i < warmup; i++)
        {
            enqueue();
        }

        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            start.Record(stream);
            enqueue();
            end.Record(stream);
            end.Synchronize();
            times[i] = CudaEvent.ElapsedMilliseconds(start, end);
        }

        Array.Sort(times);
        return times[repeats / 2];
    }

    /// <summary>
    /// The median ms of <paramref name="enqueue"/> replayed as a CUDA graph, as decode steps run their work: no host
    /// launch cost between its kernels counts, so work whose host side costs more (a heuristic per call) is not timed
    /// slower for it. Runs once eagerly first, so every library kernel is loaded before the capture.
    /// </summary>
    internal static double GraphMedianMs(CudaDevice device, CudaStream stream, int warmup, int repeats, Action enqueue)
    {
        enqueue();
        using var graph = CudaGraph.Capture(device, stream, enqueue);
        return MedianMs(device, stream, warmup, repeats, () => graph.Launch(stream));
    }
}
