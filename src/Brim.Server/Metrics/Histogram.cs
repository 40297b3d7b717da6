namespace Brim.Server.Metrics;

/// <summary>
/// A Prometheus histogram with fixed bucket bounds (seconds). Observing is lock-free (interlocked adds), so request
/// threads record latencies without contending on a lock; a scrape may see a count one observation ahead of the sum.
/// </summary>
public sealed class Histogram
{
    private readonly double[] _bounds;
    private readonly long[] _counts; // per bucket, not cumulative; the last one is +Inf
    private long _count;
    private long _sumBits; // double, updated by compare-exchange

    public Histogram(params double[] upperBounds)
    {
        if (upperBounds.Length == 0 || !upperBounds.SequenceEqual(upperBounds.Order()) || upperBounds.Distinct().Count() != upperBounds.Length)
        {
            throw new ArgumentException("bucket bounds must be non-empty, distinct and ascending", nameof(upperBounds));
        }

        _bounds = upperBounds;
        _counts = new long[upperBounds.Length + 1];
    }

    public IReadOnlyList<double> UpperBounds => _bounds;

    public long Count => Interlocked.Read(ref _count);

    public double Sum => BitConverter.Int64BitsToDouble(Interlocked.Read(ref _sumBits));

    public void Observe(double value)
    {
        var bucket = Array.BinarySearch(_bounds, value);
        if (bucket < 0)
        {
            bucket = ~bucket; // the first bound above the value, or the +Inf bucket
        }

        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Increment(ref _count);
        long seen, next;
        do
        {
            seen = Interlocked.Read(ref _sumBits);
            next = BitConverter.DoubleToInt64Bits(BitConverter.Int64BitsToDouble(seen) + value);
        }
        while (Interlocked.CompareExchange(ref _sumBits, next, seen) != seen);
    }

    /// <summary>
    /// The count, then the cumulative bucket counts (the last is +Inf) and the sum, read in that order: a scrape racing
    /// an observation may show the count one behind the buckets, never a +Inf bucket below the count.
    /// </summary>
    public (long Count, long[] Cumulative, double Sum) Read()
    {
        var count = Count;
        var cumulative = new long[_counts.Length];
        long total = 0;
        for (var b = 0; b < _counts.Length; b++)
        {
            total += Interlocked.Read(ref _counts[b]);
            cumulative[b] = total;
        }

        return (count, cumulative, Sum);
    }
}
