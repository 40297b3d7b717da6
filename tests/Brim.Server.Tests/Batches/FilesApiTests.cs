using System.ClientModel;
using OpenAI.Files;

namespace Brim.Server.Tests.Batches;

/// <summary>POST/GET/DELETE /v1/files and /content through the official SDK's file client.</summary>
public class FilesApiTests(BatchServerFixture fixture) : IClassFixture<BatchServerFixture>
{
    private OpenAIFileClient Files => fixture.CreateBatchClient().Files;

    [Fact]
    public async Task UploadFile_Jsonl_StoredListedDownloadableAndDeletable()
    {
        var content = BatchInput.Join([BatchInput.ChatLine("a", "Hello", 4), BatchInput.ChatLine("b", "Hi", 4)]);
        OpenAIFile uploaded = await Files.UploadFileAsync(BinaryData.FromString(content), "requests.jsonl", FileUploadPurpose.Batch);

        Assert.StartsWith("file-", uploaded.Id, StringComparison.Ordinal);
        Assert.Equal("requests.jsonl", uploaded.Filename);
        Assert.Equal(FilePurpose.Batch, uploaded.Purpose);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(content), uploaded.SizeInBytes);
        Assert.True(File.Exists(Path.Combine(fixture.DataDirectory, "files", uploaded.Id)), "the content should be on disk under the data directory");

        OpenAIFile fetched = await Files.GetFileAsync(uploaded.Id);
        Assert.Equal(uploaded.SizeInBytes, fetched.SizeInBytes);
        Assert.Equal(uploaded.CreatedAt, fetched.CreatedAt);
        OpenAIFileCollection listed = await Files.GetFilesAsync();
        Assert.Contains(listed, f => f.Id == uploaded.Id);
        BinaryData downloaded = await Files.DownloadFileAsync(uploaded.Id);
        Assert.Equal(content, downloaded.ToString());

        FileDeletionResult deleted = await Files.DeleteFileAsync(uploaded.Id);
        Assert.True(deleted.Deleted);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => Files.GetFileAsync(uploaded.Id));
        Assert.Equal(404, missing.Status);
        Assert.False(File.Exists(Path.Combine(fixture.DataDirectory, "files", uploaded.Id)));
    }

    [Fact]
    public async Task UploadFile_LargerThanLimit_Returns413AndKeepsNothing()
    {
        var before = Directory.GetFiles(Path.Combine(fixture.DataDirectory, "files")).Length;
        var line = BatchInput.ChatLine("x", new string('a', 1000), 4) + "\n";
        var big = string.Concat(Enumerable.Repeat(line, (int)(BatchServerFixture.MaxFileBytes / line.Length) + 10));

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Files.UploadFileAsync(BinaryData.FromString(big), "big.jsonl", FileUploadPurpose.Batch));

        Assert.Equal(413, error.Status);
        Assert.Contains($"{BatchServerFixture.MaxFileBytes} bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFiles(Path.Combine(fixture.DataDirectory, "files")).Length);
    }

    [Fact]
    public async Task UploadFile_PurposeOtherThanBatch_Returns400()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(
            () => Files.UploadFileAsync(BinaryData.FromString("{}\n"), "a.jsonl", FileUploadPurpose.FineTune));

        Assert.Equal(400, error.Status);
        Assert.Contains("purpose", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DownloadFile_UnknownId_Returns404()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Files.DownloadFileAsync("file-doesnotexist"));
        Assert.Equal(404, error.Status);
    }
}
