namespace Brim.Server.Bench.Traffic;

/// <summary>One online request of a trace: when it arrives (seconds from the start) and how long it is.</summary>
public readonly record struct TrafficArrival(double AtSeconds, int PromptTokens, int OutputTokens);

/// <summary>A named stretch of a trace (a burst or a pause, day or night) that results are reported by.</summary>
public readonly record struct TrafficPhase(string Name, double StartSeconds, double EndSeconds);

/// <summary>Arrivals in time order and the phases that tile the trace.</summary>
public sealed record TrafficTrace(IReadOnlyList<TrafficArrival> Arrivals, IReadOnlyList<TrafficPhase> Phases)
{
    /// <summary>Phase names in the order they first appear.</summary>
    public IReadOnlyList<string> PhaseNames => [.. Phases.Select(p => p.Name).Distinct()];

    /// <summary>The phase a moment falls in (the last one beyond the end).</summary>
    public string PhaseAt(double seconds)
    {
        foreach (var phase in Phases)
        {
            if (seconds < phase.EndSeconds)
            {
                return phase.Name;
            }
        }

        return Phases[^1].Name;
    }

    /// <summary>Total seconds the trace spends in phases named <paramref name="name"/>.</summary>
    public double SecondsIn(string name) => Phases.Where(p => p.Name == name).Sum(p => p.EndSeconds - p.StartSeconds);
}
