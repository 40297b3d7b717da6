namespace Brim.Server.Bench.Traffic;

/// <summary>
/// Seeded, deterministic online traffic for `brim bench mixed`: arrivals of the chosen shape with ShareGPT-like lengths.
/// The same options give the same trace, so online-only and unified runs replay identical requests.
/// </summary>
public static class TrafficGenerator
{
    public const string Steady = "steady", On = "burst", Off = "pause", Day = "day", Night = "night";

    public static TrafficTrace Generate(TrafficOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.Rate > 0) || !(options.Seconds > 0) || !(options.LengthScale > 0) || !(options.BurstOnSeconds > 0)
            || !(options.BurstOffSeconds > 0) || options.NightShare is < 0 or > 1 || options.MaxModelLength < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "rates, durations and the length scale must be positive, the night share in [0, 1]");
        }

        // Arrival times and lengths draw from separate streams, so changing the shape keeps the lengths.
        var times = new Random(options.Seed);
        var lengths = new ShareGptLengths(new Random(unchecked(options.Seed * 7919) + 1), options.MaxModelLength, options.LengthScale);
        var (at, phases) = options.Shape switch
        {
            TrafficShape.Poisson => (Poisson(times, options.Rate, 0, options.Seconds), [new TrafficPhase(Steady, 0, options.Seconds)]),
            TrafficShape.Bursty => Bursty(times, options),
            _ => Diurnal(times, options),
        };
        return new TrafficTrace([.. at.Select(t => { var (p, o) = lengths.Next(); return new TrafficArrival(t, p, o); })], phases);
    }

    /// <summary>Exponential gaps at <paramref name="rate"/> from <paramref name="from"/> until <paramref name="to"/>.</summary>
    private static List<double> Poisson(Random random, double rate, double from, double to)
    {
        var at = new List<double>();
        for (var t = from + Gap(random, rate); t < to; t += Gap(random, rate))
        {
            at.Add(t);
        }

        return at;
    }

    /// <summary>Alternating exponential on and off periods, starting on; while on, the rate that keeps the overall mean.</summary>
    private static (List<double>, List<TrafficPhase>) Bursty(Random random, TrafficOptions o)
    {
        var onRate = o.Rate * (o.BurstOnSeconds + o.BurstOffSeconds) / o.BurstOnSeconds;
        var at = new List<double>();
        var phases = new List<TrafficPhase>();
        var on = true;
        for (var t = 0.0; t < o.Seconds; on = !on)
        {
            var end = Math.Min(o.Seconds, t + Gap(random, 1 / (on ? o.BurstOnSeconds : o.BurstOffSeconds)));
            phases.Add(new TrafficPhase(on ? On : Off, t, end));
            if (on)
            {
                at.AddRange(Poisson(random, onRate, t, end));
            }

            t = end;
        }

        return (at, phases);
    }

    /// <summary>
    /// rate(t) = peak × (night + (1 − night) × (1 − cos 2πt/period) / 2): night at the start and end of each period, the
    /// peak at its middle. Drawn by thinning (Lewis–Shedler): candidates at the peak rate, each kept with probability
    /// rate(t) / peak. Day is where the rate is above the midpoint between night and peak, night the rest.
    /// </summary>
    private static (List<double>, List<TrafficPhase>) Diurnal(Random random, TrafficOptions o)
    {
        var period = o.DayPeriodSeconds ?? o.Seconds;
        var at = new List<double>();
        foreach (var t in Poisson(random, o.Rate, 0, o.Seconds))
        {
            if (random.NextDouble() < DiurnalShare(t, period, o.NightShare))
            {
                at.Add(t);
            }
        }

        // Above the midpoint while cos(2πt/period) < 0: the middle half of each period.
        var phases = new List<TrafficPhase>();
        for (var start = 0.0; start < o.Seconds; start += period)
        {
            Add(phases, Night, start, start + (period / 4), o.Seconds);
            Add(phases, Day, start + (period / 4), start + (3 * period / 4), o.Seconds);
            Add(phases, Night, start + (3 * period / 4), start + period, o.Seconds);
        }

        return (at, phases);
    }

    /// <summary>The diurnal rate at <paramref name="t"/> as a share of the peak.</summary>
    public static double DiurnalShare(double t, double period, double nightShare) =>
        nightShare + ((1 - nightShare) * (1 - Math.Cos(2 * Math.PI * t / period)) / 2);

    private static void Add(List<TrafficPhase> phases, string name, double start, double end, double limit)
    {
        if (start >= limit)
        {
            return;
        }

        end = Math.Min(end, limit);
        if (phases.Count > 0 && phases[^1].Name == name && phases[^1].EndSeconds >= start)
        {
            phases[^1] = phases[^1] with { EndSeconds = end }; // the night that ends one day and starts the next is one
        }
        else
        {
            phases.Add(new TrafficPhase(name, start, end));
        }
    }

    private static double Gap(Random random, double rate) => -Math.Log(1 - random.NextDouble()) / rate;
}
