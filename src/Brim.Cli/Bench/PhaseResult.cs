namespace Brim.Cli.Bench;

/// <summary>
/// What one phase of the online traffic (a burst or a pause, day or night) saw in a mixed run: the online requests that
/// arrived in it, and the offline tokens produced while it lasted.
/// </summary>
internal sealed record PhaseResult(string Name, double Seconds, ClassResult Online, long OfflineTokens)
{
    public double OfflineTokensPerSecond => Seconds > 0 ? OfflineTokens / Seconds : 0;

    /// <summary>Offline's share of the output tokens produced in the phase.</summary>
    public double OfflineShare => Online.OutputTokens + OfflineTokens > 0 ? (double)OfflineTokens / (Online.OutputTokens + OfflineTokens) : 0;
}
