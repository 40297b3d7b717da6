namespace Brim.Engine.Sampling;

/// <summary>
/// A sequence's own random stream (splitmix64). Each sequence draws from its own stream, so a seeded request samples
/// the same tokens whatever else shares its batches, and the same uniform drives CPU and device sampling alike.
/// </summary>
/// <remarks>
/// splitmix64's state only advances by a constant, so the stream can be read ahead without drawing
/// (<see cref="PeekUniform"/>): a verify step hands the device the uniforms of all 1 + k rows before it knows how many
/// tokens it will keep, and <see cref="Skip"/> then draws exactly one per token produced, as plain decoding does.
/// </remarks>
public sealed class SequenceRandom(ulong seed)
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;
    private ulong _state = seed;

    public static SequenceRandom FromSeed(long? seed) =>
        new(seed is { } s ? (ulong)s : (ulong)Random.Shared.NextInt64());

    /// <summary>Uniform in [0, 1) with 24 bits of resolution (exactly representable as float).</summary>
    public float NextUniform()
    {
        _state += Gamma;
        return Mix(_state);
    }

    /// <summary>The uniform <see cref="NextUniform"/> would return after <paramref name="ahead"/> other draws; draws nothing.</summary>
    public float PeekUniform(int ahead)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ahead);
        return Mix(unchecked(_state + (Gamma * (ulong)(ahead + 1))));
    }

    /// <summary>Draws <paramref name="count"/> uniforms and discards them (the ones a device already used, read by peeking).</summary>
    public void Skip(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _state = unchecked(_state + (Gamma * (ulong)count));
    }

    private static float Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 40) * (1f / (1 << 24));
    }
}
