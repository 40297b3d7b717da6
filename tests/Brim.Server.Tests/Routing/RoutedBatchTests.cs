using System.Text.Json;
using Brim.Server.Routing;
using Brim.Server.Tests.Batches;

namespace Brim.Server.Tests.Routing;

/// <summary><see cref="RoutedFixture"/>'s models and router with the Batch API on.</summary>
public sealed class RoutedBatchFixture : TwoModelFixture, IAsyncLifetime
{
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("brim-routed-batch-").FullName;

    protected override RouterConfig Router => RouterConfigReader.Parse(RoutedFixture.ConfigJson);

    protected override ServerOptions Options => base.Options with { DataDirectory = DataDirectory };

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }
}

/// <summary>Batch lines name a model or the router's alias: each is answered by the model named or routed to.</summary>
public class RoutedBatchTests(RoutedBatchFixture fixture) : IClassFixture<RoutedBatchFixture>
{
    [Fact]
    public async Task Batch_LinesToEachModelAndToAuto_AnsweredByTheModelNamedOrRouted()
    {
        string Line(string id, object body) => JsonSerializer.Serialize(new { custom_id = id, method = "POST", url = "/v1/chat/completions", body });
        var messages = new[] { new { role = "user", content = "Once upon a time" } };
        var client = new BatchTestClient(fixture.Server.BaseAddress, "unused");
        var input = await client.UploadAsync(BatchInput.Join([
            Line("to-small", new { model = TwoModelFixture.Small, messages, max_tokens = 6, temperature = 0 }),
            Line("to-large", new { model = TwoModelFixture.Large, messages, max_tokens = 6, temperature = 0 }),
            Line("gold", new { model = "auto", messages, max_tokens = 6, temperature = 0, metadata = new { tier = "gold" } }),
            Line("cascade-kept", new { model = "auto", messages, max_tokens = 24, temperature = 0 }),
            Line("cascade-escalated", new { model = "auto", messages, max_tokens = 24, temperature = 2.0, seed = 5 }),
        ]));
        var batch = await client.WaitForStatusAsync((await client.CreateAsync(input)).GetProperty("id").GetString()!, "completed", TimeSpan.FromSeconds(60));

        var answered = (await client.ReadLinesAsync(batch.GetProperty("output_file_id").GetString()!)).ToDictionary(
            l => l.GetProperty("custom_id").GetString()!,
            l => l.GetProperty("response").GetProperty("body").GetProperty("model").GetString());
        Assert.Equal(TwoModelFixture.Small, answered["to-small"]);
        Assert.Equal(TwoModelFixture.Large, answered["to-large"]);
        Assert.Equal(TwoModelFixture.Large, answered["gold"]);
        Assert.Equal(TwoModelFixture.Small, answered["cascade-kept"]); // the same request online is kept (RouterTests)
        Assert.Equal(TwoModelFixture.Large, answered["cascade-escalated"]);
    }
}
