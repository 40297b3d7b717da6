using Brim.Core.Execution;

namespace Brim.Backends.Cpu;

/// <summary>Settings of <see cref="CpuBackend"/>.</summary>
public sealed record CpuBackendOptions
{
    /// <summary>Threads that run the forward pass, the caller's included. Results are bitwise the same for any count.</summary>
    public int ThreadCount { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// How the KV cache is stored: <see cref="KvCacheDType.Auto"/> (float32) or <see cref="KvCacheDType.Int8"/>
    /// (a float scale per token and KV head); fp8 is refused by name.
    /// </summary>
    public KvCacheDType KvCacheDType { get; init; } = KvCacheDType.Auto;
}
