using Brim.Server.Metrics;

namespace Brim.Server.Logging;

/// <summary>Puts a finished generation's tokens and TTFT on its request's access line.</summary>
internal sealed class AccessLogObserver : IGenerationObserver
{
    public void GenerationCompleted(CompletedGeneration g) => AccessLog.RecordGeneration(g.TimeToFirstToken, g.OutputTokens);
}
