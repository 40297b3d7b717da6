namespace Brim.Server.Tests.Observability;

/// <summary>
/// Tracing tests run alone: a tracer listens to the "Brim" source process-wide while it lives, so a test that asserts
/// nobody listens must not overlap one that traces.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingCollection
{
    public const string Name = "tracing";
}
