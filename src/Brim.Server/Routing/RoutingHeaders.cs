namespace Brim.Server.Routing;

/// <summary>Response headers that say how the router decided a request (docs/routing.md).</summary>
public static class RoutingHeaders
{
    /// <summary>On a routed response: the route that decided it (a rule's name, default or cascade).</summary>
    public const string Route = "x-brim-route";

    /// <summary>On a cascaded response: whether the large model answered ("true" or "false").</summary>
    public const string Escalated = "x-brim-escalated";

    /// <summary>On a cascaded response: the small model's confidence in its answer (its configured measure).</summary>
    public const string Confidence = "x-brim-confidence";
}
