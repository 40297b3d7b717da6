namespace Brim.Engine;

/// <summary>The waiting queue is full; the caller should retry later (the server answers 429 with Retry-After).</summary>
public sealed class EngineOverloadedException(string message) : Exception(message);
