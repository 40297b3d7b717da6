namespace Brim.Server.Tests.Batches;

/// <summary>An upload a crash interrupted leaves a temp file under the data directory; the next start deletes it.</summary>
public sealed class FileStoreStartupTests : IDisposable
{
    private const string ApiKey = "files-key";
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("brim-files-").FullName;

    [Fact]
    public async Task Start_AbandonedUploadTempFiles_DeletedAndEverythingElseKept()
    {
        var content = BatchInput.Join([BatchInput.ChatLine("a", "Hello", 4)]);
        string uploadedId;
        await using (var first = await OwnedBatchServer.StartAsync(_dataDirectory, ApiKey))
        {
            uploadedId = await new BatchTestClient(first.Server.BaseAddress, ApiKey).UploadAsync(content);
        }

        // What a crash mid-upload leaves (the store's temp name), beside files that are not the store's to delete.
        var files = Path.Combine(_dataDirectory, "files");
        var abandoned = new[] { ".upload-" + Guid.NewGuid().ToString("N"), ".upload-" + Guid.NewGuid().ToString("N") };
        var foreign = new[] { ".upload-notes.txt", "README", ".upload-" + Guid.NewGuid().ToString("N").ToUpperInvariant() };
        foreach (var name in abandoned.Concat(foreign))
        {
            await File.WriteAllTextAsync(Path.Combine(files, name), "{\"custom_id\":\"half a li");
        }

        await using var second = await OwnedBatchServer.StartAsync(_dataDirectory, ApiKey);

        Assert.All(abandoned, name => Assert.False(File.Exists(Path.Combine(files, name)), $"{name} should have been deleted"));
        Assert.All(foreign, name => Assert.True(File.Exists(Path.Combine(files, name)), $"{name} is not the store's and should stay"));
        var client = new BatchTestClient(second.Server.BaseAddress, ApiKey);
        Assert.Equal(content, (await client.Files.DownloadFileAsync(uploadedId)).Value.ToString());
    }

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);
}
