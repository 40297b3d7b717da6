using Microsoft.Extensions.Logging;

namespace Brim.Server;

/// <summary>How `brim serve` listens and what it accepts. The model and engine limits live in ModelHostOptions.</summary>
public sealed record ServerOptions
{
    /// <summary>An IP address, or "localhost".</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 takes a free one (tests), see <see cref="BrimServer.BaseAddress"/>.</summary>
    public int Port { get; init; } = 8000;

    /// <summary>
    /// Bearer keys accepted; empty means no authentication. Every route needs one except /health, /ready, /metrics, the
    /// dashboard and /v1/stats (see Security/ApiKeyCheck).
    /// </summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    /// <summary>
    /// Host header names the server answers (without port; "*" for any). Null takes the default: localhost, 127.0.0.1
    /// and [::1] when <see cref="Host"/> is a loopback address or "localhost", any host otherwise. Other names get 400.
    /// </summary>
    public IReadOnlyList<string>? AllowedHosts { get; init; }

    /// <summary>Largest request body; larger ones get 413. Also the longest line a batch input file may have.</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Largest <c>n</c> (choices per prompt).</summary>
    public int MaxChoices { get; init; } = 16;

    /// <summary>
    /// Most sequences (prompts × n) one request may start: a 410-byte request of 64 prompts × n 16 would otherwise be
    /// 1,024 sequences that hold the queue and build a response of hundreds of MB.
    /// </summary>
    public int MaxSequencesPerRequest { get; init; } = 128;

    /// <summary>
    /// Most output tokens one request may ask for, summed over its sequences (max_tokens × sequences). A request that sets
    /// max_tokens above it is refused; one that leaves max_tokens out has its default cut to fit.
    /// </summary>
    public int MaxTokensPerRequest { get; init; } = 262_144;

    /// <summary>How long SIGTERM waits for in-flight requests before cancelling them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The Retry-After a 429 suggests.</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    /// <summary>
    /// Where the Files and Batch APIs keep their SQLite database and file contents; null leaves those APIs off.
    /// `brim serve` defaults it to ./brim-data.
    /// </summary>
    public string? DataDirectory { get; init; }

    /// <summary>Largest file POST /v1/files accepts (OpenAI's batch input limit is 200 MB); larger ones get 413.</summary>
    public long MaxFileBytes { get; init; } = 200L * 1024 * 1024;

    /// <summary>
    /// How long a batch has to finish before it expires (what OpenAI's completion_window "24h" means here). Clients
    /// may only ask for "24h", as with OpenAI; a shorter window is for tests and for operators with a tighter promise.
    /// </summary>
    public TimeSpan BatchCompletionWindow { get; init; } = TimeSpan.FromHours(24);

    /// <summary>The clock batch timestamps and deadlines are read from (tests move it forward to expire batches).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Information;

    /// <summary>Log lines on stderr as plain text or one JSON object each.</summary>
    public Logging.LogFormat LogFormat { get; init; } = Logging.LogFormat.Text;

    /// <summary>What the device costs per hour (for cost per 1M tokens); null takes the default of the card's row in the catalog.</summary>
    public double? GpuHourlyCost { get; init; }

    /// <summary>Measure the GPU's copy bandwidth and GEMM rate at startup (about a second) for MFU/MBU; else datasheet values.</summary>
    public bool MeasureCeilings { get; init; } = true;

    /// <summary>
    /// Where OpenTelemetry traces go (a span per HTTP request, a child span per generation); null, the default, registers
    /// no tracer. `brim serve` reads it from the OTEL_* variables (<see cref="Observability.TraceExport.FromEnvironment"/>).
    /// </summary>
    public Observability.TraceExport? Tracing { get; init; }

    /// <summary>
    /// The router behind an alias (<c>model: "auto"</c>) choosing among the served models per request
    /// (<c>--router-config</c>, docs/routing.md); null: requests must name a model.
    /// </summary>
    public Routing.RouterConfig? Router { get; init; }

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Port, 0, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Port, 65535, nameof(Port));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRequestBodyBytes, 1024, nameof(MaxRequestBodyBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxChoices, 1, nameof(MaxChoices));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSequencesPerRequest, 1, nameof(MaxSequencesPerRequest));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTokensPerRequest, 1, nameof(MaxTokensPerRequest));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFileBytes, 1, nameof(MaxFileBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchCompletionWindow, TimeSpan.FromSeconds(1), nameof(BatchCompletionWindow));
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (DataDirectory is { } data && string.IsNullOrWhiteSpace(data))
        {
            throw new ArgumentException("the data directory must not be empty (null turns the Batch API off)", nameof(DataDirectory));
        }

        if (AllowedHosts is { } hosts && (hosts.Count == 0 || hosts.Any(string.IsNullOrWhiteSpace)))
        {
            throw new ArgumentException("allowed hosts must be names (or \"*\" for any); null takes the default", nameof(AllowedHosts));
        }

        if (ApiKeys.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("API keys must not be empty", nameof(ApiKeys));
        }
    }
}
