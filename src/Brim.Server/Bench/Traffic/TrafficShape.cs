namespace Brim.Server.Bench.Traffic;

/// <summary>How online requests arrive over a run.</summary>
public enum TrafficShape
{
    /// <summary>A Poisson process at a constant rate (independent users).</summary>
    Poisson,

    /// <summary>On/off bursts: Poisson at a raised rate while on, nothing while off, the same mean rate overall.</summary>
    Bursty,

    /// <summary>A day compressed into the run: the rate follows a cosine from night (a few percent of the peak) to day (the peak).</summary>
    Diurnal,
}
