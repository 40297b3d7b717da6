namespace Brim.Server.Logging;

/// <summary>How log lines are written to stderr: one plain line each, or one JSON object each (for log shippers).</summary>
public enum LogFormat
{
    Text,
    Json,
}
