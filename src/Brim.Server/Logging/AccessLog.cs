using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Brim.Server.Logging;

/// <summary>
/// One line per request (method, path, status, output tokens, time to first token, duration) in place of ASP.NET
/// Core's four to eight. Generations report their tokens and TTFT through <see cref="RecordGeneration"/>, which finds
/// the request's entry through an async-local set here: the generation runs in the request's own async flow.
/// </summary>
public static partial class AccessLog
{
    public const string Category = "Brim.Access";

    private static readonly AsyncLocal<Entry?> Current = new();

    /// <summary>Adds the access-line middleware; it must come first so it times and sees the whole request.</summary>
    public static void Use(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        app.Use(async (http, next) =>
        {
            var entry = new Entry();
            Current.Value = entry;
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(http).ConfigureAwait(false);
            }
            finally
            {
                Current.Value = null;
                if (logger.IsEnabled(LogLevel.Information))
                {
                    var duration = HumanDuration.Format(Stopwatch.GetElapsedTime(started));
                    var ttft = entry.TimeToFirstToken is { } t ? HumanDuration.Format(t) : "-";
                    Request(logger, http.Request.Method, http.Request.Path.Value ?? "/", http.Response.StatusCode, entry.OutputTokens, ttft, duration);
                }
            }
        });
    }

    /// <summary>Called when a generation (one choice) finishes; a no-op outside an HTTP request (batch lines).</summary>
    public static void RecordGeneration(TimeSpan timeToFirstToken, int outputTokens)
    {
        if (Current.Value is { } entry)
        {
            lock (entry)
            {
                entry.OutputTokens += outputTokens;
                entry.TimeToFirstToken = entry.TimeToFirstToken is { } t && t < timeToFirstToken ? t : timeToFirstToken;
            }
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Path} {Status} tokens={Tokens} ttft={Ttft} {Duration}")]
    private static partial void Request(ILogger logger, string method, string path, int status, int tokens, string ttft, string duration);

    private sealed class Entry
    {
        public int OutputTokens { get; set; }

        public TimeSpan? TimeToFirstToken { get; set; }
    }
}
