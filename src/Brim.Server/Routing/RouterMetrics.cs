using System.Collections.Concurrent;
using Brim.Telemetry.Exposition;

namespace Brim.Server.Routing;

/// <summary>
/// What the router did: requests by the route that decided them and the model that answered
/// (<c>brim:router_requests_total{route, model}</c>: a rule's name, <c>default</c> or <c>cascade</c>), and the cascaded
/// requests the small model's low confidence escalated (<c>brim:router_escalations_total</c>). A request a rule or the
/// default sends to a model counts when it is sent; a cascaded one when the cascade has chosen whose answer to return.
/// </summary>
internal sealed class RouterMetrics
{
    private readonly ConcurrentDictionary<(string Route, string Model), long> _requests = new();
    private long _escalations;
    private long _cascaded;

    public long Escalations => Interlocked.Read(ref _escalations);

    /// <summary>Requests the cascade decided (answered by the small model or escalated).</summary>
    public long Cascaded => Interlocked.Read(ref _cascaded);

    public long Requests(string route, string model) => _requests.TryGetValue((route, model), out var n) ? n : 0;

    /// <summary>Every (route, model) pair seen, with its count.</summary>
    public IReadOnlyList<(string Route, string Model, long Count)> All() =>
        [.. _requests.OrderBy(p => p.Key.Route, StringComparer.Ordinal).ThenBy(p => p.Key.Model, StringComparer.Ordinal).Select(p => (p.Key.Route, p.Key.Model, p.Value))];

    public void Answered(string route, string model) => _requests.AddOrUpdate((route, model), 1, (_, n) => n + 1);

    /// <summary>A cascaded request was answered; <paramref name="escalated"/> when the large model answered it.</summary>
    public void CascadeDecided(bool escalated)
    {
        Interlocked.Increment(ref _cascaded);
        if (escalated)
        {
            Interlocked.Increment(ref _escalations);
        }
    }

    /// <summary>The counts for /v1/stats.</summary>
    public RouterStats Stats(string alias)
    {
        var cascaded = Cascaded;
        var escalations = Escalations;
        return new RouterStats(alias, cascaded, escalations, cascaded > 0 ? (double)escalations / cascaded : null,
            [.. All().Select(r => new RouteCount(r.Route, r.Model, r.Count))]);
    }

    public void WriteTo(PrometheusText text)
    {
        text.Family("brim:router_requests_total", "counter", "Requests to the router's alias, by the route that decided them and the model that answered.");
        foreach (var (route, model, count) in All())
        {
            text.Sample("brim:router_requests_total", count, ("route", route), ("model", model));
        }

        text.Counter("brim:router_escalations_total", "Cascaded requests answered again by the large model because the small model's confidence was below the threshold.", Escalations);
        text.Counter("brim:router_cascaded_total", "Requests the cascade decided (kept by the small model or escalated).", Cascaded);
    }
}
