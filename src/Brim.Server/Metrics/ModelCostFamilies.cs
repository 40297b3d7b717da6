using Brim.Telemetry.Exposition;

namespace Brim.Server.Metrics;

/// <summary>
/// With several served models, each one's device time and cost since start (as /v1/stats <c>models</c> has them),
/// labelled <c>model_name</c>; <c>model_name="all models"</c> is the server as a whole. The telemetry families after them
/// (throughput and cost per window, MFU/MBU) are the default model's alone.
/// </summary>
internal static class ModelCostFamilies
{
    public static void Write(PrometheusText text, IReadOnlyList<ServedModelStats> rows)
    {
        text.Family("brim:model_busy_seconds_total", "counter", "Seconds the model's engine spent in steps: the device time it is charged.");
        foreach (var r in rows)
        {
            text.Sample("brim:model_busy_seconds_total", r.BusySeconds, ("model_name", r.Name));
        }

        text.Family("brim:model_device_seconds_per_million_output_tokens", "gauge", "Device-seconds (the engine's time in steps) per 1M output tokens since start.");
        foreach (var r in rows)
        {
            text.Sample("brim:model_device_seconds_per_million_output_tokens", r.DeviceSecondsPerMillionOutputTokens, ("model_name", r.Name));
        }

        text.Family("brim:model_cost_per_million_output_tokens_dollars", "gauge", "The device's price of those seconds per 1M output tokens since start.");
        foreach (var r in rows)
        {
            text.Sample("brim:model_cost_per_million_output_tokens_dollars", r.CostPerMillionOutputTokens, ("model_name", r.Name));
        }
    }
}
