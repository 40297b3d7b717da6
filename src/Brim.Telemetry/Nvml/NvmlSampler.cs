using System.Runtime.InteropServices;
using Brim.Telemetry.Recording;

namespace Brim.Telemetry.Nvml;

/// <summary>
/// Reads every GPU's NVML counters in the background into a ring buffer per device. Where NVML is absent (no NVIDIA
/// driver: CI, a CPU host) it reports why in <see cref="Status"/> and never produces a sample — no invented numbers.
/// </summary>
public sealed class NvmlSampler : IDisposable
{
    private readonly nint[] _devices;
    private readonly RingBuffer<GpuSample>[] _history;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private bool _initialized;

    private NvmlSampler(nint[] devices, string[] names, int capacity, bool initialized, string status, TimeProvider time)
    {
        _devices = devices;
        DeviceNames = names;
        _history = [.. devices.Select(_ => new RingBuffer<GpuSample>(capacity))];
        _initialized = initialized;
        Status = status;
        _time = time;
    }

    /// <summary>False when NVML could not be loaded or initialized, or found no GPU.</summary>
    public bool IsAvailable => _devices.Length > 0;

    /// <summary>"NVML: 1 GPU (NVIDIA H100 80GB HBM3)" or "NVML not available: &lt;reason&gt;".</summary>
    public string Status { get; }

    public IReadOnlyList<string> DeviceNames { get; }

    /// <summary>Raised on the sampling thread after each device is read.</summary>
    public event Action<GpuSample>? Sampled;

    /// <summary>Loads NVML and enumerates the GPUs; never throws for a missing driver.</summary>
    /// <param name="capacity">Samples kept per device (600 at 500 ms is five minutes).</param>
    public static NvmlSampler Open(int capacity = 600, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        if (!NativeLibrary.TryLoad(NvmlNative.Library, typeof(NvmlSampler).Assembly, null, out var library))
        {
            return Unavailable($"{NvmlNative.Library} could not be loaded (no NVIDIA driver on this machine)", capacity, time);
        }

        NativeLibrary.Free(library);
        try
        {
            var rc = NvmlNative.Init();
            if (rc != NvmlNative.Success)
            {
                return Unavailable($"nvmlInit_v2 failed: {NvmlNative.Describe(rc)}", capacity, time);
            }

            rc = NvmlNative.DeviceGetCount(out var count);
            if (rc != NvmlNative.Success || count == 0)
            {
                NvmlNative.Shutdown();
                return Unavailable(rc != NvmlNative.Success ? $"nvmlDeviceGetCount_v2 failed: {NvmlNative.Describe(rc)}" : "NVML found no GPU", capacity, time);
            }

            var devices = new nint[count];
            var names = new string[count];
            for (var i = 0u; i < count; i++)
            {
                rc = NvmlNative.DeviceGetHandleByIndex(i, out devices[i]);
                if (rc != NvmlNative.Success)
                {
                    NvmlNative.Shutdown();
                    return Unavailable($"nvmlDeviceGetHandleByIndex_v2({i}) failed: {NvmlNative.Describe(rc)}", capacity, time);
                }

                names[i] = NvmlNative.DeviceName(devices[i]);
            }

            var status = $"NVML: {count} GPU{(count == 1 ? string.Empty : "s")} ({string.Join(", ", names.Distinct())})";
            return new NvmlSampler(devices, names, capacity, initialized: true, status, time);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return Unavailable($"{ex.GetType().Name}: {ex.Message}", capacity, time);
        }
    }

    private static NvmlSampler Unavailable(string reason, int capacity, TimeProvider time) =>
        new([], [], capacity, initialized: false, $"NVML not available: {reason}", time);

    /// <summary>Samples every device each <paramref name="interval"/> on a background task until disposed.</summary>
    public void Start(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        if (!IsAvailable || _loop is not null)
        {
            return;
        }

        _stop = new CancellationTokenSource();
        var token = _stop.Token;
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval, _time);
            do
            {
                SampleAll();
            }
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false));
        }, token);
    }

    /// <summary>The last sampling failure (a device fallen off the bus, a driver reload), or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>Reads every device now and records the samples; a failed read is kept in <see cref="LastError"/>.</summary>
    public void SampleAll()
    {
        for (var d = 0; d < _devices.Length; d++)
        {
            GpuSample sample;
            try
            {
                sample = Read(d);
                LastError = null;
            }
            catch (InvalidOperationException ex)
            {
                LastError = ex.Message;
                continue;
            }

            lock (_lock)
            {
                _history[d].Add(sample);
            }

            Sampled?.Invoke(sample);
        }
    }

    /// <summary>The newest sample of each device that has one.</summary>
    public IReadOnlyList<GpuSample> Latest()
    {
        lock (_lock)
        {
            return [.. _history.Where(h => h.Count > 0).Select(h => h.Last)];
        }
    }

    /// <summary>The kept samples of one device, oldest first.</summary>
    public IReadOnlyList<GpuSample> History(int device)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)device, (uint)_devices.Length, nameof(device));
        lock (_lock)
        {
            return _history[device].ToArray();
        }
    }

    private GpuSample Read(int index)
    {
        var device = _devices[index];
        Check(NvmlNative.DeviceGetUtilizationRates(device, out var utilization), "nvmlDeviceGetUtilizationRates");
        Check(NvmlNative.DeviceGetMemoryInfo(device, out var memory), "nvmlDeviceGetMemoryInfo");
        double? power = NvmlNative.DeviceGetPowerUsage(device, out var milliwatts) == NvmlNative.Success ? milliwatts / 1000.0 : null;
        double? clock = NvmlNative.DeviceGetClockInfo(device, NvmlNative.ClockSm, out var mhz) == NvmlNative.Success ? mhz : null;
        return new GpuSample(index, _time.GetUtcNow(), utilization.Gpu, utilization.Memory, memory.Used, memory.Total, power, clock);
    }

    private static void Check(int rc, string call)
    {
        if (rc != NvmlNative.Success)
        {
            throw new InvalidOperationException($"{call} failed: {NvmlNative.Describe(rc)}");
        }
    }

    /// <summary>Stops sampling and shuts NVML down; a second call does nothing (a server of several models may reach it twice).</summary>
    public void Dispose()
    {
        if (_stop is not null)
        {
            _stop.Cancel();
            try
            {
                _loop?.Wait();
            }
            catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OperationCanceledException))
            {
                // The loop ends by cancellation.
            }

            _stop.Dispose();
            _stop = null;
        }

        if (_initialized)
        {
            NvmlNative.Shutdown();
            _initialized = false;
        }
    }
}
