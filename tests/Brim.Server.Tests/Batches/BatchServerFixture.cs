namespace Brim.Server.Tests.Batches;

/// <summary>The shared test server with the Files and Batch APIs on, over a real SQLite file in a fresh temp data directory.</summary>
public class BatchServerFixture : ServerFixture, IAsyncLifetime
{
    public const long MaxFileBytes = 256 * 1024;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("brim-batch-test-").FullName;

    protected override ServerOptions ServerOptions => base.ServerOptions with { DataDirectory = DataDirectory, MaxFileBytes = MaxFileBytes };

    internal BatchTestClient CreateBatchClient() => new(BaseAddress, ApiKey);

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }
}
