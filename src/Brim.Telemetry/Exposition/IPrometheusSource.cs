namespace Brim.Telemetry.Exposition;

/// <summary>
/// Families that /metrics writes after the server's own: the telemetry hub's utilization and cost, the Batch API's
/// backlog. Registered in the server's services; the endpoint writes every registered source, in registration order.
/// </summary>
public interface IPrometheusSource
{
    void WriteTo(PrometheusText text);
}
