namespace Brim.Backends.Cpu;

/// <summary>Settings of <see cref="CpuBackend"/>.</summary>
public sealed record CpuBackendOptions
{
    /// <summary>Threads that run the forward pass, the caller's included. Results are bitwise the same for any count.</summary>
    public int ThreadCount { get; init; } = Environment.ProcessorCount;
}
