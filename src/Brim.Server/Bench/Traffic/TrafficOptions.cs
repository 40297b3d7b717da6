namespace Brim.Server.Bench.Traffic;

/// <summary>What <see cref="TrafficGenerator"/> draws: the arrival shape, its rate and the request lengths' bounds.</summary>
public sealed record TrafficOptions
{
    public TrafficShape Shape { get; init; } = TrafficShape.Poisson;

    /// <summary>Mean arrivals per second (Poisson and bursty); for diurnal, the day's peak rate.</summary>
    public double Rate { get; init; } = 1;

    /// <summary>Length of the trace.</summary>
    public double Seconds { get; init; } = 60;

    public int Seed { get; init; }

    /// <summary>Prompt + output never exceed it (the model's context); lengths drawn beyond it are clipped.</summary>
    public int MaxModelLength { get; init; } = 4096;

    /// <summary>Scales the ShareGPT-like lengths (1: the published means; below 1 for small CPU models).</summary>
    public double LengthScale { get; init; } = 1;

    /// <summary>
    /// Mean burst and pause durations (exponential). Defaults 1 s on and 3 s off: a quarter of the time on at four times
    /// the mean rate, short enough that a benchmark of tens of seconds sees many bursts.
    /// </summary>
    public double BurstOnSeconds { get; init; } = 1;

    public double BurstOffSeconds { get; init; } = 3;

    /// <summary>One compressed day; null: the whole trace is one day, starting and ending at night.</summary>
    public double? DayPeriodSeconds { get; init; }

    /// <summary>The night's rate as a share of the day's peak (issue 14: online at 5 % at night).</summary>
    public double NightShare { get; init; } = 0.05;
}
