namespace Brim.Backends.Cpu.Threading;

/// <summary>
/// A unit of parallel work split into independent chunks. Jobs are long-lived objects whose fields are set before
/// each run, so running one allocates nothing. A chunk's result must not depend on which thread runs it.
/// </summary>
internal abstract class ParallelJob
{
    /// <summary>Runs chunk <paramref name="chunk"/>; called concurrently for distinct chunks.</summary>
    public abstract void Execute(int chunk);
}
