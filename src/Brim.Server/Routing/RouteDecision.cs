namespace Brim.Server.Routing;

/// <summary>
/// Where the router sends one request: <see cref="Route"/> is the label that decided it (a rule's name,
/// <c>default</c> or <c>cascade</c>); <see cref="Model"/> the model that answers, or null for the cascade (small first,
/// then maybe large).
/// </summary>
internal readonly record struct RouteDecision(string Route, string? Model)
{
    public const string DefaultRoute = "default";
    public const string CascadeRoute = "cascade";

    public bool IsCascade => Model is null;
}
