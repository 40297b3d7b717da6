using System.Globalization;
using Brim.Models;

namespace Brim.Cli.Terminal;

/// <summary>The words of a model-loading progress line: "loading weights 1.2 of 4.5 GB (27%)", "compiling CUDA kernels: …".</summary>
internal static class LoadProgressText
{
    private const double Gigabyte = 1e9;
    private const double Megabyte = 1e6;

    /// <summary>The line for a report; empty for <see cref="LoadPhase.Finished"/>.</summary>
    public static string Format(LoadProgress progress) => progress.Phase switch
    {
        LoadPhase.Weights => Weights(progress.Done, progress.Total),
        LoadPhase.Kernels => string.Create(CultureInfo.InvariantCulture, $"compiling CUDA kernels (cached for the next start): #{progress.Done} {progress.Item}"),
        _ => string.Empty,
    };

    private static string Weights(long done, long total)
    {
        // One unit for both numbers, chosen by the total, so the line does not change width as it counts up.
        var (unit, name) = total >= Gigabyte ? (Gigabyte, "GB") : (Megabyte, "MB");
        var percent = total > 0 ? Math.Min(100, (int)(done * 100 / total)) : 0;
        return string.Create(CultureInfo.InvariantCulture, $"loading weights {Math.Min(done, total) / unit:F1} of {total / unit:F1} {name} ({percent}%)");
    }
}
