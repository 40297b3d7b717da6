using Brim.Server.Generation;
using Microsoft.Extensions.Hosting;

namespace Brim.Server;

/// <summary>
/// Drains before Kestrel stops. The host calls every lifecycle service's StoppingAsync before it stops any hosted
/// service, Kestrel included, so while this waits the server still listens: /ready answers 503 (load balancers take
/// the instance out), new generation requests get 503, and open ones run on for up to the drain timeout; those still
/// open then end with an in-band error (see <see cref="InFlightRequests"/>). Only then does Kestrel close connections.
/// </summary>
internal sealed class ShutdownDrain(ServerContext server) : IHostedLifecycleService
{
    /// <summary>How long requests ended by the drain timeout get to write their last event.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        server.Accepting = false;
        await server.InFlight.DrainAsync(server.Options.DrainTimeout, Grace, cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
