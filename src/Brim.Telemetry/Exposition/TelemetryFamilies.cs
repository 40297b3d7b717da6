using System.Globalization;
using Brim.Telemetry.Recording;

namespace Brim.Telemetry.Exposition;

/// <summary>
/// The telemetry snapshot's families on /metrics: throughput, occupancy, MFU/MBU and cost per window, the totals, the
/// device's ceilings and price, NVML counters and per-class latency quantiles. The format is <see cref="PrometheusText"/>'s.
/// </summary>
internal static class TelemetryFamilies
{
    // One gauge per window (label window="..."), in the order /metrics has always listed them.
    private static readonly (string Name, string Help, Func<WindowStats, double?> Value)[] WindowGauges =
    [
        ("brim:output_tokens_per_second", "Output (sampled) tokens per wall-clock second over the window, idle time included.", x => x.OutputTokensPerSecond),
        ("brim:output_tokens_per_second_per_device", "Output tokens per wall-clock second per device over the window.", x => x.OutputTokensPerSecondPerDevice),
        ("brim:prefill_tokens_per_second", "Prompt tokens prefilled per wall-clock second over the window.", x => x.PrefillTokensPerSecond),
        ("brim:batch_occupancy_ratio", "Sequences per step / batch slots, weighted by step time, while steps ran.", x => x.Occupancy),
        ("brim:engine_busy_ratio", "Share of wall time the engine spent inside steps.", x => x.BusyFraction),
        ("brim:model_flops_utilization_ratio", "MFU: model FLOPs (from the architecture) / (wall time x peak FLOP/s).", x => x.Mfu),
        ("brim:model_bandwidth_utilization_ratio", "MBU: model bytes moved (weights, KV, logits) / (wall time x peak bytes/s).", x => x.Mbu),
        ("brim:cost_per_million_output_tokens_dollars", "Device cost over the window / output tokens in it, per 1M tokens.", x => x.CostPerMillionOutputTokens),
    ];

    public static void Write(PrometheusText w, TelemetrySnapshot s)
    {
        foreach (var (name, help, value) in WindowGauges)
        {
            w.Family(name, "gauge", help);
            Each(w, s, name, value);
        }

        w.Family("brim:projected_output_tokens_per_second", "gauge", "Output tokens/s extrapolated to a batch occupancy (see /v1/stats economics.assumption).");
        foreach (var row in s.Economics.Rows.Where(r => r.Projected))
        {
            w.Sample("brim:projected_output_tokens_per_second", row.OutputTokensPerSecond, Occupancy(row));
        }

        w.Family("brim:projected_cost_per_million_output_tokens_dollars", "gauge", "Cost per 1M output tokens extrapolated to a batch occupancy.");
        foreach (var row in s.Economics.Rows.Where(r => r.Projected))
        {
            w.Sample("brim:projected_cost_per_million_output_tokens_dollars", row.CostPerMillionOutputTokens, Occupancy(row));
        }

        var t = s.Totals;
        w.Counter("brim:model_flops_total", "Model FLOPs of all steps, from the architecture.", t.Flops);
        w.Counter("brim:model_bytes_total", "Model bytes moved by all steps (weights, KV read and written, logits).", t.Bytes);
        w.Counter("brim:sampled_tokens_total", "Tokens sampled by all steps (output tokens as they are produced).", t.OutputTokens);
        w.Counter("brim:prefill_tokens_total", "Prompt tokens run through prefill by all steps.", t.PrefillTokens);
        w.Counter("brim:engine_busy_seconds_total", "Seconds spent inside engine steps.", t.BusySeconds);
        w.Counter("brim:engine_host_in_step_seconds_total", "Seconds of steps spent outside the forward pass (scheduling, sampling).", t.HostInStepSeconds);
        w.Counter("brim:engine_host_gap_seconds_total", "Seconds between steps while work was waiting.", t.HostGapSeconds);

        if (s.LastStep?.Record is { } last)
        {
            w.Family("brim:requests_running_by_class", "gauge", "Sequences in the batch after the last step, by traffic class.");
            w.Sample("brim:requests_running_by_class", last.Running - last.RunningOffline, ("traffic_class", "online"));
            w.Sample("brim:requests_running_by_class", last.RunningOffline, ("traffic_class", "offline"));
            w.Family("brim:requests_waiting_by_class", "gauge", "Sequences waiting for a slot after the last step, by traffic class.");
            w.Sample("brim:requests_waiting_by_class", last.Waiting - last.WaitingOffline, ("traffic_class", "online"));
            w.Sample("brim:requests_waiting_by_class", last.WaitingOffline, ("traffic_class", "offline"));
        }

        var device = s.Device;
        w.Gauge("brim:device_peak_flops_per_second", "Peak FLOP/s of one device: the MFU denominator.", device.Ceilings.PeakFlopsPerSecond, ("source", device.Ceilings.Source));
        w.Gauge("brim:device_peak_bytes_per_second", "Peak memory bytes/s of one device: the MBU denominator.", device.Ceilings.PeakBytesPerSecond, ("source", device.Ceilings.Source));
        w.Gauge("brim:device_hourly_cost_dollars", "Cost of one device-hour.", device.HourlyCost, ("source", device.HourlyCostSource));
        w.Gauge("brim:device_count", "Devices the engine runs on.", device.DeviceCount);

        w.Gauge("brim:nvml_available", "1 when GPU counters are read through NVML, 0 when NVML is not available.", s.Gpu.Available ? 1 : 0);
        GpuFamily(w, s, "brim:gpu_utilization_ratio", "NVML: share of the sample period any kernel ran (busy, not efficiency).", g => g.GpuUtilizationPercent / 100);
        GpuFamily(w, s, "brim:gpu_memory_used_bytes", "NVML: device memory in use.", g => g.MemoryUsedBytes);
        GpuFamily(w, s, "brim:gpu_memory_total_bytes", "NVML: device memory.", g => g.MemoryTotalBytes);
        GpuFamily(w, s, "brim:gpu_power_watts", "NVML: board power draw.", g => g.PowerWatts);
        GpuFamily(w, s, "brim:gpu_sm_clock_hertz", "NVML: SM clock.", g => g.SmClockMegahertz * 1e6);

        LatencyFamily(w, s, "brim:traffic_class_requests", "Requests completed in the last 5 minutes by traffic class.", null);
        LatencyFamily(w, s, "brim:traffic_class_ttft_seconds", "Time to first token over the last 5 minutes by traffic class.", l => (l.TtftP50, l.TtftP95));
        LatencyFamily(w, s, "brim:traffic_class_tpot_seconds", "Time per output token after the first over the last 5 minutes by traffic class.", l => (l.TpotP50, l.TpotP95));
        LatencyFamily(w, s, "brim:traffic_class_e2e_latency_seconds", "End-to-end request latency over the last 5 minutes by traffic class.", l => (l.E2eP50, l.E2eP95));
    }

    // Two decimals at most: the label names a projection target (0.25, 0.5, ...), not a measured number.
    private static (string, string) Occupancy(EconomicsRow row) => ("occupancy", row.Occupancy.ToString("0.##", CultureInfo.InvariantCulture));

    private static void Each(PrometheusText w, TelemetrySnapshot s, string name, Func<WindowStats, double?> value)
    {
        foreach (var window in s.Windows)
        {
            w.Sample(name, value(window), ("window", window.Name));
        }
    }

    private static void GpuFamily(PrometheusText w, TelemetrySnapshot s, string name, string help, Func<Nvml.GpuSample, double?> value)
    {
        w.Family(name, "gauge", help);
        foreach (var g in s.Gpu.Latest)
        {
            w.Sample(name, value(g), ("gpu", g.Device.ToString(CultureInfo.InvariantCulture)), ("gpu_name", s.Gpu.DeviceNames[g.Device]));
        }
    }

    private static void LatencyFamily(PrometheusText w, TelemetrySnapshot s, string name, string help, Func<LatencyStats, (double? P50, double? P95)>? quantiles)
    {
        w.Family(name, "gauge", help);
        foreach (var l in s.Latency)
        {
            var cls = ("traffic_class", l.TrafficClass.ToString().ToLowerInvariant());
            if (quantiles is null)
            {
                w.Sample(name, l.Requests, cls);
                continue;
            }

            var (p50, p95) = quantiles(l);
            w.Sample(name, p50, cls, ("quantile", "0.5"));
            w.Sample(name, p95, cls, ("quantile", "0.95"));
        }
    }
}
