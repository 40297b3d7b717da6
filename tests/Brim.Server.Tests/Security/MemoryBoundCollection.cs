namespace Brim.Server.Tests.Security;

/// <summary>
/// Tests that measure the process's memory run alone: xunit runs this collection after the parallel ones, so another
/// test's allocations cannot show up in (or hide) the growth they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryBoundCollection
{
    public const string Name = "memory-bound";
}
