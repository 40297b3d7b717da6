using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Brim.Server.Logging;

/// <summary>
/// Logging of `brim serve`: everything on stderr (stdout stays for what a command prints as its result), one line per
/// entry, ASP.NET Core's per-request and lifetime chatter off (the access line and the CLI's startup lines say it once).
/// </summary>
internal static class ServerLogging
{
    public static void Configure(ILoggingBuilder logging, ServerOptions options)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(options.MinimumLogLevel);
        logging.AddFilter("Microsoft.AspNetCore", level => level >= LogLevel.Warning && level >= options.MinimumLogLevel);
        logging.AddFilter("Microsoft.Hosting.Lifetime", level => level >= LogLevel.Warning && level >= options.MinimumLogLevel);
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (options.LogFormat == LogFormat.Json)
        {
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
    }
}
