using System.Globalization;
using Brim.Core.Execution;

namespace Brim.Server.Hosting;

/// <summary>
/// The part of the memory budget one of several models in a process may take (<c>--model-memory-share</c>). Models load
/// in order, so <see cref="Before"/> is what the models loaded earlier were given. On the CPU the share is of the KV
/// cache space (<c>--kv-cache-space</c>): each engine's cache is sized within its share. On CUDA it is of the
/// <c>--gpu-memory-utilization</c> budget, weights and KV cache together: a model's engine sizes its cache up to
/// <c>utilization × (Before + Share)</c> of the device, less what is in use when it loads (the earlier models' weights
/// and caches and its own weights), which leaves it its share minus its own weights.
/// </summary>
public readonly record struct MemoryShare
{
    public MemoryShare(double before, double share)
    {
        if (!(share > 0 && share <= 1) || !(before >= 0) || before + share > 1 + 1e-9)
        {
            throw new ArgumentOutOfRangeException(nameof(share), string.Create(CultureInfo.InvariantCulture,
                $"a memory share is in (0, 1] and the shares add up to at most 1; got {share} after {before}"));
        }

        Before = before;
        Share = share;
    }

    /// <summary>A process of one model: it takes the whole budget.</summary>
    public static MemoryShare Whole { get; } = new(0, 1);

    /// <summary>What the models loaded before this one were given.</summary>
    public double Before { get; }

    public double Share { get; }

    /// <summary>
    /// The shares of <paramref name="count"/> models: as given (one per model, in order, adding up to at most 1), or
    /// equal when none are given.
    /// </summary>
    public static IReadOnlyList<MemoryShare> Split(int count, IReadOnlyList<double>? shares)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (shares is { Count: > 0 } && shares.Count != count)
        {
            throw new ArgumentException($"give one --model-memory-share per --model ({count}), or none for equal shares; got {shares.Count}", nameof(shares));
        }

        var given = shares is { Count: > 0 } ? shares : Enumerable.Repeat(1.0 / count, count).ToArray();
        if (given.Sum() > 1 + 1e-9)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"the memory shares add up to {given.Sum():0.###}, more than 1"), nameof(shares));
        }

        var result = new MemoryShare[count];
        var before = 0.0;
        for (var i = 0; i < count; i++)
        {
            result[i] = new MemoryShare(Math.Min(before, 1 - given[i]), given[i]);
            before += given[i];
        }

        return result;
    }

    /// <summary>The options one model of the process loads with: its engine's KV budget cut to its share.</summary>
    internal ModelHostOptions Apply(ModelHostOptions options, IModelBackend backend)
    {
        if (Share >= 1)
        {
            return options;
        }

        return BackendFactory.IsCpu(backend)
            ? options with { KvCacheSpaceBytes = (long)((options.KvCacheSpaceBytes ?? CpuKvCacheSize.DefaultSpaceBytes) * Share) }
            : options with { Engine = options.Engine with { MemoryUtilization = options.Engine.MemoryUtilization * (Before + Share) } };
    }

    public override string ToString() => Share.ToString("P0", CultureInfo.InvariantCulture);
}
