using System.ClientModel;
using OpenAI.Chat;

namespace Brim.Server.Tests.Routing;

/// <summary>Two models in one server: listed, addressed by name, each answering as it does alone, metrics per model.</summary>
public class MultiModelServerTests(TwoModelFixture fixture) : IClassFixture<TwoModelFixture>
{
    private static readonly ChatMessage[] Conversation = [new UserChatMessage("Once upon a time")];

    [Fact]
    public async Task GetModels_ListsBothModels_DefaultFirst()
    {
        var models = (await fixture.CreateOpenAIClient().GetOpenAIModelClient().GetModelsAsync()).Value;
        Assert.Equal([TwoModelFixture.Small, TwoModelFixture.Large], models.Select(m => m.Id));

        var large = (await fixture.CreateOpenAIClient().GetOpenAIModelClient().GetModelAsync(TwoModelFixture.Large)).Value;
        Assert.Equal(TwoModelFixture.Large, large.Id);
    }

    [Theory]
    [InlineData(TwoModelFixture.Small)]
    [InlineData(TwoModelFixture.Large)]
    public async Task CompleteChat_EachModel_SameTextAsItsSingleModelServer(string name)
    {
        var options = new ChatCompletionOptions { Temperature = 0f, MaxOutputTokenCount = 24 };
        var shared = (await fixture.CreateOpenAIClient().GetChatClient(name).CompleteChatAsync(Conversation, options)).Value;

        var (server, host) = await TwoModelFixture.StartSingleAsync(name == TwoModelFixture.Small ? TwoModelFixture.SmallOptions : TwoModelFixture.LargeOptions);
        try
        {
            var alone = (await TwoModelFixture.ClientFor(server).GetChatClient(name).CompleteChatAsync(Conversation, options)).Value;
            Assert.Equal(name, shared.Model);
            Assert.Equal(alone.Content[0].Text, shared.Content[0].Text);
            Assert.Equal(alone.Usage.OutputTokenCount, shared.Usage.OutputTokenCount);
        }
        finally
        {
            await server.DisposeAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task CompleteChat_TheTwoModels_AnswerDifferently()
    {
        var options = new ChatCompletionOptions { Temperature = 0f, MaxOutputTokenCount = 24 };
        var small = (await fixture.CreateOpenAIClient().GetChatClient(TwoModelFixture.Small).CompleteChatAsync(Conversation, options)).Value;
        var large = (await fixture.CreateOpenAIClient().GetChatClient(TwoModelFixture.Large).CompleteChatAsync(Conversation, options)).Value;
        Assert.NotEqual(small.Content[0].Text, large.Content[0].Text);
    }

    [Fact]
    public async Task CompleteChat_UnknownModel_404ListingTheServedModels()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => fixture.CreateOpenAIClient().GetChatClient("medium").CompleteChatAsync(Conversation));
        Assert.Equal(404, error.Status);
        Assert.Contains("'small', 'large'", error.Message, StringComparison.Ordinal);

        var (status, body) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { model = "medium", prompt = "Once" });
        Assert.Equal(404, status);
        Assert.Equal("model_not_found", (string?)body!["error"]!["code"]);
        Assert.Equal("model", (string?)body["error"]!["param"]);
    }

    [Fact]
    public async Task Metrics_PerEngineFamilies_CarryEachModelsName()
    {
        var before = await MetricsText.ScrapeAsync(fixture.Http);
        var (status, _) = await HttpJson.PostAsync(fixture.Http, "v1/completions", new { model = TwoModelFixture.Large, prompt = "Once", max_tokens = 5, temperature = 0 });
        Assert.Equal(200, status);
        var after = await MetricsText.ScrapeAsync(fixture.Http);

        string Model(string name) => $"model_name=\"{name}\"";
        Assert.Equal(5, MetricsText.Value(after, "brim:generation_tokens_total", Model(TwoModelFixture.Large), MetricsText.Online)
            - MetricsText.Value(before, "brim:generation_tokens_total", Model(TwoModelFixture.Large), MetricsText.Online));
        Assert.Equal(MetricsText.Value(before, "brim:generation_tokens_total", Model(TwoModelFixture.Small), MetricsText.Online),
            MetricsText.Value(after, "brim:generation_tokens_total", Model(TwoModelFixture.Small), MetricsText.Online));
        Assert.True(MetricsText.Value(after, "brim:num_engine_steps_total", Model(TwoModelFixture.Large)) > 0);
        _ = MetricsText.Value(after, "brim:num_requests_running", Model(TwoModelFixture.Small));
    }
}
