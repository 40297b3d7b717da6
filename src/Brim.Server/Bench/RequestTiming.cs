namespace Brim.Server.Bench;

/// <summary>What one benchmark request measured, in seconds from the moment it was sent.</summary>
public sealed record RequestTiming
{
    public required bool Succeeded { get; init; }

    public double TimeToFirstToken { get; init; }

    public double EndToEnd { get; init; }

    public int OutputTokens { get; init; }

    /// <summary>Gaps between consecutive token arrivals.</summary>
    public IReadOnlyList<double> InterTokenLatencies { get; init; } = [];

    public string? Error { get; init; }

    /// <summary>Time per output token after the first (vLLM's TPOT).</summary>
    public double TimePerOutputToken => OutputTokens > 1 ? (EndToEnd - TimeToFirstToken) / (OutputTokens - 1) : 0;
}

/// <summary>Where benchmark requests go: the HTTP server, or the engine directly.</summary>
public interface IBenchTarget
{
    string Name { get; }

    Task<RequestTiming> SendAsync(BenchRequest request, CancellationToken cancellationToken);
}
