using Brim.Engine;

namespace Brim.Server.Tests.Batches;

/// <summary>
/// An <see cref="OwnedServer"/> with the Files and Batch APIs on a data directory the test owns (a restart on the same
/// directory, a clock of its own).
/// </summary>
internal static class OwnedBatchServer
{
    public static Task<OwnedServer> StartAsync(string dataDirectory, string apiKey, TimeProvider? clock = null, int batchSlots = 8) =>
        OwnedServer.StartAsync(
            new ServerOptions { ApiKeys = [apiKey], DataDirectory = dataDirectory, TimeProvider = clock ?? TimeProvider.System, DrainTimeout = TimeSpan.FromSeconds(10) },
            engine: new EngineOptions { NumKvBlocks = 1024, MaxRunningSequences = batchSlots });
}
