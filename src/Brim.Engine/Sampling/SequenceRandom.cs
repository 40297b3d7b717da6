namespace Brim.Engine.Sampling;

/// <summary>
/// A sequence's own random stream (splitmix64). Each sequence draws from its own stream, so a seeded request samples
/// the same tokens whatever else shares its batches, and the same uniform drives CPU and device sampling alike.
/// </summary>
public sealed class SequenceRandom(ulong seed)
{
    private ulong _state = seed;

    public static SequenceRandom FromSeed(long? seed) =>
        new(seed is { } s ? (ulong)s : (ulong)Random.Shared.NextInt64());

    /// <summary>Uniform in [0, 1) with 24 bits of resolution (exactly representable as float).</summary>
    public float NextUniform()
    {
        _state += 0x9E3779B97F4A7C15UL;
        var z = _state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 40) * (1f / (1 << 24));
    }
}
