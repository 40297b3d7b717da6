using System.Diagnostics.Metrics;
using Brim.Server.Metrics;

namespace Brim.Server.Observability;

/// <summary>
/// The "Brim" <see cref="Meter"/>: request and token counters and a TTFT histogram through System.Diagnostics.Metrics,
/// so `dotnet-counters monitor -n brim --counters Brim` and OpenTelemetry's .NET exporters see them without scraping
/// /metrics. One meter per server (tests run several servers in one process; listeners tell them apart by instance).
/// </summary>
public sealed class BrimMeter : IGenerationObserver, IDisposable
{
    public const string Name = "Brim";

    private readonly Meter _meter = new(Name);
    private readonly Counter<long> _requests;
    private readonly Counter<long> _outputTokens;
    private readonly Histogram<double> _timeToFirstToken;

    public BrimMeter()
    {
        _requests = _meter.CreateCounter<long>("brim.requests", "{request}", "Generations finished (one per choice)");
        _outputTokens = _meter.CreateCounter<long>("brim.output_tokens", "{token}", "Tokens generated");
        _timeToFirstToken = _meter.CreateHistogram<double>("brim.time_to_first_token", "s", "Time from arrival to the first token");
    }

    /// <summary>The underlying meter (a listener enables this instance's instruments to tell servers apart).</summary>
    public Meter Source => _meter;

    public void GenerationCompleted(CompletedGeneration generation)
    {
        var tag = new KeyValuePair<string, object?>("traffic_class", generation.TrafficClass.ToString().ToLowerInvariant());
        _requests.Add(1, tag);
        _outputTokens.Add(generation.OutputTokens, tag);
        _timeToFirstToken.Record(generation.TimeToFirstToken.TotalSeconds, tag);
    }

    public void Dispose() => _meter.Dispose();
}
