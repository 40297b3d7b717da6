using System.Text.Json;
using System.Text.Json.Serialization;

namespace Brim.Telemetry.Exposition;

/// <summary>Source-generated JSON for /v1/stats (trim- and AOT-safe).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(TelemetrySnapshot))]
internal sealed partial class TelemetryJsonContext : JsonSerializerContext;
